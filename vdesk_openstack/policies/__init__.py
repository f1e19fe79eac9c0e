"""oslo.policy defaults of vdesk-openstack, one module per resource.

The desktop service's API builds its rules on the base
rules here: an administrator manages every subscriber's desktop; a
subscriber acts only on its own, and only with a token scoped to the
subscriber project. ``tox -e genpolicy`` writes etc/vdesk/policy.yaml.sample.
"""

import itertools

from vdesk_openstack.policies import base
from vdesk_openstack.policies import desktops


def list_rules():
    return list(itertools.chain(base.list_rules(),
                                desktops.list_rules()))
