# Runs `wstest` with every listening socket bound to 127.0.0.1.
# wstest 0.8.2 listens on all interfaces in fuzzingserver mode and has no option to change it;
# the harness must stay on loopback, so the one listen call it makes is wrapped here.
# Python 2.7 (the suite's own interpreter), also run by PyPy inside the Docker image.
import sys

import autobahntestsuite.fuzzing as fuzzing
from autobahntestsuite import wstest

_listen_ws = fuzzing.listenWS


def _listen_ws_on_loopback(factory, contextFactory=None, backlog=50, interface=''):
    return _listen_ws(factory, contextFactory, backlog, '127.0.0.1')


fuzzing.listenWS = _listen_ws_on_loopback

if __name__ == '__main__':
    sys.argv[0] = 'wstest'
    sys.exit(wstest.run())
