// Where `wstest` comes from: the suite's Docker image, or the suite from PyPI under Python 2.7.
// `assetsDir` is the package's root, which holds wstest-loopback.py and the pinned requirements.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export const SUITE_VERSION = '0.8.2';
export const DOCKER_IMAGE = `crossbario/autobahn-testsuite:${SUITE_VERSION}`;

export interface WstestCommand {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Run after the process is stopped, to remove what outlives it (a container). */
  cleanup?: () => void;
}

export interface Backend {
  name: 'docker' | 'pip';
  /** One line for the reports: how the suite runs, with versions and never a path of this machine. */
  description: string;
  /** Installs or pulls what is missing; returns a note for the log. */
  prepare(log: (line: string) => void): void;
  /** `wstest` with the loopback launcher; paths are absolute and the same inside and outside Docker. */
  wstest(args: string[], mounts: string[], name: string): WstestCommand;
}

export interface BackendChoice {
  backend?: Backend;
  /** Why each backend was or was not taken. */
  reasons: string[];
}

function run(command: string, args: string[], env?: NodeJS.ProcessEnv) {
  return spawnSync(command, args, { encoding: 'utf8', env: env ?? process.env, maxBuffer: 64 * 1024 * 1024 });
}

/** The error text when no backend can run: what was tried, and what to install. */
export function noBackendMessage(reasons: readonly string[]): string {
  return [
    'no backend can run Autobahn|Testsuite:',
    ...reasons.map((r) => `  ${r}`),
    'Install one of:',
    '  - a Docker engine (`docker info` must succeed; the image is pulled on first use), or',
    '  - Python 2.7 (e.g. `pyenv install 2.7.18`, or set PYTHON2=/path/to/python2.7); the suite is then',
    '    installed from PyPI into ${XDG_CACHE_HOME:-~/.cache}/rfc6455/ on first use.',
  ].join('\n');
}

/** Picks Docker when an engine answers, else the PyPI suite when Python 2.7 exists. */
export function chooseBackend(assetsDir: string, forced?: string): BackendChoice {
  const reasons: string[] = [];
  if (forced === undefined || forced === 'docker') {
    const info = run('docker', ['info', '--format', '{{.ServerVersion}}']);
    if (info.status === 0) {
      reasons.push(`docker: engine ${info.stdout.trim()} answers`);
      return { backend: dockerBackend(assetsDir), reasons };
    }
    reasons.push(`docker: \`docker info\` failed (${firstLine(info.error?.message ?? info.stderr)})`);
  }
  if (forced === undefined || forced === 'pip') {
    const python = findPython2(reasons);
    if (python !== undefined) return { backend: pipBackend(assetsDir, python), reasons };
  }
  return { reasons };
}

function firstLine(text: string | undefined): string {
  return (text ?? '').trim().split('\n')[0] ?? '';
}

function dockerBackend(assetsDir: string): Backend {
  const launcher = join(assetsDir, 'wstest-loopback.py');
  const user =
    typeof process.getuid === 'function' ? [`--user`, `${process.getuid()}:${process.getgid?.()}`] : [];
  return {
    name: 'docker',
    description: `Docker image ${DOCKER_IMAGE} (PyPy 2)`,
    prepare(log) {
      if (run('docker', ['image', 'inspect', DOCKER_IMAGE]).status === 0) return;
      log(`pulling ${DOCKER_IMAGE}`);
      const pull = spawnSync('docker', ['pull', '--platform', 'linux/amd64', DOCKER_IMAGE], {
        stdio: 'inherit',
      });
      if (pull.status !== 0) throw new Error(`docker pull ${DOCKER_IMAGE} failed`);
    },
    wstest(args, mounts, name) {
      // Host networking: the suite and the testee meet on the host's 127.0.0.1.
      const volumes = [
        `${dirname(launcher)}:${dirname(launcher)}:ro`,
        ...mounts.map((dir) => `${dir}:${dir}`),
      ];
      return {
        command: 'docker',
        // The image is built for amd64 only; the loopback launcher runs under the image's PyPy.
        args: [
          ...['run', '--rm', '--name', name, '--platform', 'linux/amd64', '--network', 'host'],
          ...user,
          ...['-e', 'HOME=/tmp', ...volumes.flatMap((v) => ['-v', v]), DOCKER_IMAGE],
          ...['python', launcher, ...args],
        ],
        cleanup: () => void run('docker', ['rm', '-f', name]),
      };
    },
  };
}

interface Python2 {
  path: string;
  version: string;
}

function findPython2(reasons: string[]): Python2 | undefined {
  const candidates: string[] = [];
  if (process.env.PYTHON2) candidates.push(process.env.PYTHON2);
  const pyenv = run('pyenv', ['root']);
  const roots = [pyenv.status === 0 ? pyenv.stdout.trim() : '', join(homedir(), '.pyenv')].filter(Boolean);
  for (const root of roots) candidates.push(join(root, 'versions', '2.7.18', 'bin', 'python2.7'));
  candidates.push('python2.7', 'python2');
  for (const path of candidates) {
    const probe = run(path, ['-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])']);
    if (probe.status === 0 && probe.stdout.startsWith('2.7.')) {
      reasons.push(`pip: Python ${probe.stdout.trim()} at ${path}`);
      return { path, version: probe.stdout.trim() };
    }
  }
  reasons.push(`pip: no Python 2.7 (tried ${candidates.join(', ')}; set PYTHON2 to point at one)`);
  return undefined;
}

/**
 * The suite from PyPI, every dependency pinned in requirements.txt, installed with `pip --user` under a
 * private PYTHONUSERBASE (Python 2.7 has no venv) in a cache directory named by the hash of the pins.
 */
function pipBackend(assetsDir: string, python: Python2): Backend {
  const requirements = join(assetsDir, 'requirements.txt');
  const accelerators = join(assetsDir, 'requirements-accel.txt');
  const hash = createHash('sha256')
    .update(python.version)
    .update(readFileSync(requirements))
    .update(readFileSync(accelerators))
    .digest('hex')
    .slice(0, 16);
  const cacheRoot = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  const base = join(cacheRoot, 'rfc6455', `autobahn-${hash}`);
  const marker = join(base, 'installed.json');
  const env = { ...process.env, PYTHONUSERBASE: base, PYTHONDONTWRITEBYTECODE: '1' };
  const backend: Backend = {
    name: 'pip',
    description: `autobahntestsuite ${SUITE_VERSION} from PyPI, Python ${python.version}`,
    prepare(log) {
      if (existsSync(marker)) {
        const installed = JSON.parse(readFileSync(marker, 'utf8')) as { wsaccel?: boolean };
        backend.description += installed.wsaccel ? ', wsaccel' : ', without wsaccel';
        log(`reusing the suite installed in ${base}`);
        return;
      }
      // Install beside the final directory and rename at the end, so a half install is never reused.
      const staging = `${base}.partial-${process.pid}`;
      rmSync(staging, { recursive: true, force: true });
      mkdirSync(staging, { recursive: true });
      const stagingEnv = { ...env, PYTHONUSERBASE: staging };
      const pip = [
        '-m',
        'pip',
        'install',
        '--user',
        '--no-deps',
        '--disable-pip-version-check',
        '--no-warn-script-location',
        '--quiet',
      ];
      log(`installing the suite into ${base} (pinned by ${requirements})`);
      const main = spawnSync(python.path, [...pip, '-r', requirements], {
        stdio: 'inherit',
        env: stagingEnv,
      });
      if (main.status !== 0) {
        rmSync(staging, { recursive: true, force: true });
        throw new Error(`pip install -r ${requirements} failed (exit ${main.status})`);
      }
      // wsaccel is a C extension: about 3x faster sections 1-10 when it builds, and optional when not.
      const accel = spawnSync(python.path, [...pip, '-r', accelerators], {
        stdio: 'inherit',
        env: stagingEnv,
      });
      const wsaccel = accel.status === 0;
      log(wsaccel ? 'wsaccel built' : 'wsaccel did not build: the suite runs without it, slower');
      const check = run(python.path, ['-c', 'import autobahntestsuite.wstest, twisted'], stagingEnv);
      if (check.status !== 0) {
        rmSync(staging, { recursive: true, force: true });
        throw new Error(`the installed suite does not import:\n${check.stderr}`);
      }
      writeFileSync(
        join(staging, 'installed.json'),
        JSON.stringify({ python: python.version, wsaccel }) + '\n',
      );
      rmSync(base, { recursive: true, force: true });
      renameSync(staging, base);
      backend.description += wsaccel ? ', wsaccel' : ', without wsaccel';
    },
    wstest(args) {
      return { command: python.path, args: [join(assetsDir, 'wstest-loopback.py'), ...args], env };
    },
  };
  return backend;
}
