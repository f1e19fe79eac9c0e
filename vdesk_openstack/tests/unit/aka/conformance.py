"""TS 35.208 conformance data shared by the AKA tests.

``milenage_ts35208.json`` beside this module holds every published test
set with the source each was read from (see its ``about``).
"""

import json
import os

_PATH = os.path.join(os.path.dirname(__file__), 'milenage_ts35208.json')

with open(_PATH) as f:
    DATA = json.load(f)


def _decode(entry):
    return {key: (bytes.fromhex(value) if key not in
                  ('set', 'spec', 'source') else value)
            for key, value in entry.items()}


# The test sets as bytes, keyed by set number.
SETS = {entry['set']: _decode(entry) for entry in DATA['sets']}
TS35207_SET2 = _decode(DATA['ts35207_set2'])
AUTN_SET19 = bytes.fromhex(DATA['autn_set19']['AUTN'])


def scenarios():
    """testscenarios list: one scenario per conformance set."""
    result = [('ts35208_set%02d' % number, {'tset': tset})
              for number, tset in sorted(SETS.items())]
    result.append(('ts35207_set02', {'tset': TS35207_SET2}))
    return result
