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


@checks.register(checks.Tags.security, deploy=True)
def links_and_key_files(app_configs, **kwargs):
    """E-mailed links carry secret tokens (password reset, invitations): they must point at
    the portal over HTTPS, not at the embedded default's http://127.0.0.1:8000. And a key kept
    in a file must be readable by its owner only."""
    import stat
    from pathlib import Path

    from django.conf import settings

    errors = []
    if not settings.DEBUG and not settings.SITE_URL.startswith("https://"):
        errors.append(
            checks.Error(
                f"SITE_URL must be the portal's https:// address (it is {settings.SITE_URL!r}).",
                id="core.E003",
            )
        )
    for name in ("PORTAL_SIGNING_KEY_FILE", "BID_MASTER_KEY_FILE"):
        path = getattr(settings, name)
        if getattr(settings, name.removesuffix("_FILE")) or not path:
            continue  # the key comes from the environment
        try:
            mode = Path(path).stat().st_mode
        except OSError:
            continue  # a missing file is keys_load's to report
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            errors.append(
                checks.Error(
                    f"{name} {path!r} can be read by others (mode {stat.filemode(mode)}): "
                    "chmod 600 it.",
                    id="core.E004",
                )
            )
    return errors
