"""System checks: the keys kept outside the database load, so a bad key stops the deployment
(`manage.py check --deploy`) instead of the first signature or sealed bid."""

from django.core import checks
from django.core.exceptions import ImproperlyConfigured


@checks.register(checks.Tags.security, deploy=True)
def keys_load(app_configs, **kwargs):
    from . import keys, signing

    errors = []
    for check_id, load in [("core.E001", signing.private_key), ("core.E002", keys.bid_master_key)]:
        try:
            load()
        except ImproperlyConfigured as error:
            errors.append(checks.Error(str(error), id=check_id))
    return errors
