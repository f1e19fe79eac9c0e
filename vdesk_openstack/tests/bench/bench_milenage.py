"""Authentication vectors per second on one core, against raw AES.

An HSS serves many subscribers, each with its own K, so the figure that
matters is the single-vector path with a fresh key every time: one AES key
schedule and five block encryptions (TEMP, OUT1..OUT4) per vector. The
batch path (several vectors for one subscriber, as a Diameter AIR may ask)
shares one key schedule. The baseline, measured in the same run, is what
``cryptography`` itself does: AES-128 block encryptions per second on a
cached encryptor, and key schedules per second. Target: 100,000 vectors/s.
"""

import os
import time

import cryptography
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.ciphers import Cipher
from cryptography.hazmat.primitives.ciphers import modes

from vdesk_openstack.aka import sqn as sqnlib
from vdesk_openstack.aka import usim
from vdesk_openstack.aka import vectors

TARGET = 100000
AMF = b'\x80\x00'
KEYS = 4096
BATCH = 32
ROUNDS = 5
SECONDS = 0.3
# CPU time of this process: on a shared machine, time spent descheduled
# would otherwise count against us. The process runs on one core at a time.
_clock = time.process_time


def _rate(step, per_call=1):
    """Best of ROUNDS: calls of ``step(i)`` per CPU second, times per_call."""
    best = 0.0
    for _ in range(ROUNDS):
        calls = 0
        start = _clock()
        deadline = start + SECONDS
        while True:
            for i in range(256):
                step(calls + i)
            calls += 256
            now = _clock()
            if now >= deadline:
                break
        best = max(best, calls * per_call / (now - start))
    return best


def _aes_blocks():
    encrypt = Cipher(algorithms.AES(os.urandom(16)),
                     modes.ECB()).encryptor().update
    block = os.urandom(16)
    return _rate(lambda i: encrypt(block))


def _aes_key_setups(keys):
    ecb = modes.ECB()
    n = len(keys)
    return _rate(lambda i: Cipher(algorithms.AES(keys[i % n]),
                                  ecb).encryptor())


def _single(keys, opc):
    n = len(keys)
    generate = vectors.generate_vector
    return _rate(lambda i: generate(keys[i % n], opc, i + 1, AMF))


def _batch(keys, opc):
    n = len(keys)
    generate = vectors.generate_vectors
    return _rate(lambda i: generate(keys[i % n], opc, i * BATCH, AMF, BATCH),
                 per_call=BATCH)


def _usim(keys, opc):
    """Challenges a single card answers per second (MAC, SQN, lock)."""
    card = usim.Usim(keys[0], opc)
    challenges = vectors.generate_vectors(keys[0], opc, 0, AMF, 100000)
    authenticate = card.authenticate
    start = _clock()
    deadline = start + SECONDS
    count = 0
    for v in challenges:
        authenticate(v.rand, v.autn)
        count += 1
        if not count % 256 and _clock() >= deadline:
            break
    return count / (_clock() - start)


def main():
    keys = [os.urandom(16) for _ in range(KEYS)]
    opc = os.urandom(16)
    # Sanity: the figures below are for vectors a USIM accepts.
    v = vectors.generate_vector(keys[0], opc, sqnlib.next_sqn(0), AMF)
    usim.Usim(keys[0], opc).authenticate(v.rand, v.autn)

    blocks = _aes_blocks()
    setups = _aes_key_setups(keys)
    single = _single(keys, opc)
    batch = _batch(keys, opc)
    card = _usim(keys, opc)

    print('one core, CPU time, best of %d x %.1fs; cryptography %s'
          % (ROUNDS, SECONDS, cryptography.__version__))
    print('baseline  AES-128 block encryptions (cached key): %12.0f /s'
          % blocks)
    print('baseline  AES-128 key schedules (Cipher+encryptor): %10.0f /s'
          % setups)
    print('vectors   single path, fresh key per vector:    %12.0f /s'
          '  (%.3f x AES blocks/s, %.2f x key schedules/s)'
          % (single, single / blocks, single / setups))
    print('vectors   batch path, %d per key:               %12.0f /s'
          '  (%.3f x AES blocks/s)' % (BATCH, batch, batch / blocks))
    print('usim      authenticate (one card):              %12.0f /s'
          % card)
    print('target    %d vectors/s on one core, single path: %s'
          % (TARGET, 'met' if single >= TARGET else 'NOT met'))
