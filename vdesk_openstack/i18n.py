"""oslo.i18n integration for vdesk-openstack."""

import oslo_i18n

_translators = oslo_i18n.TranslatorFactory(domain='vdesk_openstack')

# The primary translation function using the well-known name "_"
_ = _translators.primary
