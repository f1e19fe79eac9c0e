"""Loopback helpers: free ports and waiting for a listener."""

import socket
import time


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_for_port(port, timeout=60.0, process=None):
    """Wait until 127.0.0.1:port accepts connections.

    Raises RuntimeError on timeout or if ``process`` exits meanwhile.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError('process exited with code %s before listening '
                               'on port %d' % (process.returncode, port))
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError('nothing listens on 127.0.0.1:%d after %.0f s'
                       % (port, timeout))
