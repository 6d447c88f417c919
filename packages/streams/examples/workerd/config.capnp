# workerd serve config.capnp --experimental --socket-addr tcp=127.0.0.1:PORT
# worker.bundle.js is worker.js bundled with its imports (the test runs esbuild first).
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [ (name = "main", worker = .worker) ],
  sockets = [ ( name = "tcp", address = "127.0.0.1:8080", tcp = (), service = "main" ) ],
);

const worker :Workerd.Worker = (
  modules = [ (name = "worker", esModule = embed "worker.bundle.js") ],
  compatibilityFlags = ["experimental"],
  compatibilityDate = "2026-01-01",
);
