"""Child processes of the sandbox: started, watched, always stopped.

Every service of the real cloud runs as a child process in its own process
group, with its output in a log file. A child also gets SIGTERM from the
kernel when the sandbox dies (``PR_SET_PDEATHSIG``), so not even a
``kill -9`` of the sandbox leaves a service behind; :meth:`Process.stop`
stops the whole group (gunicorn's workers, uwsgi's, privsep helpers).
"""

import ctypes
import os
import signal
import subprocess  # nosec: fixed argv lists, no shell
import sys
import time

PR_SET_PDEATHSIG = 1


def _die_with_parent():
    try:
        libc = ctypes.CDLL('libc.so.6', use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass  # not Linux with glibc: the explicit stop() still applies


def bin_path(name):
    """``name`` from this interpreter's bin directory, else from PATH."""
    candidate = os.path.join(os.path.dirname(sys.executable), name)
    return candidate if os.path.exists(candidate) else name


class ProcessError(RuntimeError):
    pass


class Process(object):
    """One service: ``start()``, ``alive()``, ``stop()``."""

    def __init__(self, name, argv, log_path, env=None, cwd=None):
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = env
        self.cwd = cwd
        self.popen = None

    def start(self):
        with open(self.log_path, 'ab') as log:
            self.popen = subprocess.Popen(  # nosec: argv list, no shell
                self.argv, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, env=self.env, cwd=self.cwd,
                start_new_session=True, preexec_fn=_die_with_parent)
        return self

    @property
    def pid(self):
        return self.popen.pid if self.popen else None

    def alive(self):
        return self.popen is not None and self.popen.poll() is None

    def check(self):
        """Raise ProcessError if the process has exited."""
        if self.popen is not None and self.popen.poll() is not None:
            raise ProcessError('%s exited with code %s; last lines of %s:\n%s'
                               % (self.name, self.popen.returncode,
                                  self.log_path, self.tail()))

    def tail(self, lines=15):
        try:
            with open(self.log_path, errors='replace') as f:
                return ''.join(f.readlines()[-lines:])
        except OSError:
            return ''

    def stop(self, timeout=15.0):
        if self.popen is None:
            return
        if self.popen.poll() is None:
            _signal_group(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        # The group may outlive its leader (workers, helpers).
        _signal_group(self.popen.pid, signal.SIGKILL)
        try:
            self.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


def _signal_group(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def run(argv, what, env=None, timeout=600, log_path=None):
    """Run a set-up command; raise ProcessError with its output on failure."""
    started = time.monotonic()
    result = subprocess.run(  # nosec: argv list, no shell
        argv, env=env, capture_output=True, text=True, timeout=timeout,
        check=False)
    if log_path:
        with open(log_path, 'a') as f:
            f.write('$ %s (%.1f s, exit %d)\n%s%s'
                    % (' '.join(argv), time.monotonic() - started,
                       result.returncode, result.stdout, result.stderr))
    if result.returncode != 0:
        raise ProcessError('%s failed (exit %d): %s'
                           % (what, result.returncode,
                              (result.stderr or result.stdout)[-2000:]))
    return result.stdout
