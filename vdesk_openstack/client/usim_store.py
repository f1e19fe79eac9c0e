"""A software USIM whose SQN state survives between runs.

The USIM's freshness state (SEQ_MS per IND slot, TS 33.102 Annex C) is what
stops a replayed challenge; a client that forgot it would accept any old
AUTN. The state is kept in a small JSON file, read-modify-written under an
exclusive ``flock`` and replaced atomically, so several processes of the
same UE (or threads of one) never lose an accepted SQN.
"""

import contextlib
import fcntl
import json
import os
import tempfile
import threading

from vdesk_openstack.aka import usim as aka_usim


class UsimStore(object):
    """Run USIM authentications against a persistent state file.

    ``path`` None keeps the state in memory for the life of this object.
    """

    def __init__(self, k, opc, path=None):
        self._k = k
        self._opc = opc
        self._path = path
        self._memory = aka_usim.Usim(k, opc)
        self._thread_lock = threading.Lock()

    @contextlib.contextmanager
    def _locked(self):
        with self._thread_lock:
            if self._path is None:
                yield
                return
            directory = os.path.dirname(os.path.abspath(self._path))
            os.makedirs(directory, mode=0o700, exist_ok=True)
            with open(self._path + '.lock', 'a') as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(lock, fcntl.LOCK_UN)

    def _load(self):
        try:
            with open(self._path) as f:
                state = json.load(f)
        except FileNotFoundError:
            return aka_usim.Usim(self._k, self._opc)
        except (OSError, ValueError) as e:
            raise ValueError('USIM state file %s is unreadable: %s'
                             % (self._path, e)) from None
        return aka_usim.Usim(self._k, self._opc, state=state.get('sqn'))

    def _save(self, usim):
        directory = os.path.dirname(os.path.abspath(self._path))
        fd, tmp = tempfile.mkstemp(dir=directory, prefix='.usim-')
        try:
            with os.fdopen(fd, 'w') as f:
                json.dump({'sqn': usim.state()}, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self._path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def authenticate(self, rand, autn):
        """USIM authentication; raises MacFailure or SyncFailure(auts)."""
        with self._locked():
            if self._path is None:
                return self._memory.authenticate(rand, autn)
            usim = self._load()
            try:
                return usim.authenticate(rand, autn)
            finally:
                # A sync failure leaves the state as it was; saving it
                # anyway is harmless and keeps the code simple.
                self._save(usim)
