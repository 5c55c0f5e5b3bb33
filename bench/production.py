"""The settings the benches measure under: production's, DEBUG off (no query log, no template
debug, WhiteNoise and the manifest of static files, HTTPS behind the TLS proxy), as
config/settings.py reads them from the environment. The keys, a random SECRET_KEY and the
collected static files are the run's own, in a scratch directory. BENCH_DEBUG=1 measures with
DEBUG on (the embedded development defaults) instead.

`apply(directory)` before django.setup(), `prepare()` after it, in every benchmark's process
(bench/__main__.py); bench/bids.py's gunicorn gets `environment(directory)` whatever
BENCH_DEBUG says.
"""

import os
import secrets
from pathlib import Path

# One per bench run: the bench's process, its children and bench/bids.py's server share it.
_SECRET_KEY = secrets.token_hex(32)


def debug_wanted() -> bool:
    return os.environ.get("BENCH_DEBUG", "").strip().lower() in {"1", "true", "yes", "on"}


def environment(directory: Path) -> dict[str, str]:
    """The variables production sets (settings refuse DEBUG off without them), pointing into
    `directory`; the key files are created there first, as the embedded default creates them
    (core.keys)."""
    from core import keys

    directory = Path(directory)
    signing_key = directory / "portal_signing_key.pem"
    bid_master_key = directory / "bid_master_key"
    keys.read_or_create_secret_file(signing_key, keys.new_portal_signing_key)
    keys.read_or_create_secret_file(bid_master_key, keys.new_bid_master_key)
    return {
        "DEBUG": "0",
        "SECRET_KEY": _SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "PORTAL_SIGNING_KEY_FILE": str(signing_key),
        "BID_MASTER_KEY_FILE": str(bid_master_key),
        "BEHIND_TLS_PROXY": "1",
        "STATIC_ROOT": str(directory / "static"),
    }


def apply(directory: Path) -> None:
    """Before django.setup(): production's variables into this process's environment (its
    children inherit them), unless BENCH_DEBUG asks for DEBUG on."""
    if debug_wanted():
        os.environ["DEBUG"] = "1"
    else:
        os.environ.update(environment(directory))


def collect_static(env: dict[str, str] | None = None) -> None:
    """`collectstatic` into STATIC_ROOT, once: the manifest storage of DEBUG off renders no
    page without it. In this process (after django.setup()), or in a child with `env`."""
    if env is not None:
        import subprocess
        import sys

        if not (Path(env["STATIC_ROOT"]) / "staticfiles.json").exists():
            subprocess.run(  # noqa: S603 - our own manage.py, fixed arguments
                [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
                env=env,
                check=True,
            )
        return
    from django.conf import settings
    from django.core.management import call_command

    if not settings.DEBUG and not (Path(settings.STATIC_ROOT) / "staticfiles.json").exists():
        call_command("collectstatic", interactive=False, verbosity=0)


def prepare() -> str:
    """After django.setup(): the static files collected; the line that tells the reader which
    settings the figures are for (read from the settings in force, not from the wish)."""
    from django.conf import settings
    from django.template import engines

    collect_static()
    template_debug = engines["django"].engine.debug
    if not settings.DEBUG and not template_debug:
        return "settings: DEBUG off (production settings)"
    return f"settings: DEBUG on (BENCH_DEBUG=1; template debug {template_debug})"


def page_client(**kwargs):
    """A test client whose requests arrive as production's arrive: over HTTPS through the TLS
    proxy (X-Forwarded-Proto), so DEBUG off answers them instead of redirecting to https."""
    from django.test import Client

    return Client(headers={"X-Forwarded-Proto": "https"}, **kwargs)
