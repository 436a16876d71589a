"""Root credentials of a server: from the environment, or a file in the data directory.

`DOLIUM_ROOT_ACCESS_KEY` and `DOLIUM_ROOT_SECRET_KEY`, when both are set,
win on every start. Otherwise the pair is read from
`<data_dir>/root-credentials.json`, which the first start generates, writes
atomically and keeps readable by its owner only (mode 0600). Either way,
`setup_root` then makes sure the meta store has the root account and key.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dolium.config import Config
from dolium.core.accounts.service import AccountService, new_access_key, new_secret_key
from dolium.durable import fsync_dir
from dolium.errors import ConfigError, InvalidArgument
from dolium.model import AccessKey
from dolium.plugins import open_meta

CREDENTIALS_FILE = "root-credentials.json"
ENV_ACCESS_KEY = "DOLIUM_ROOT_ACCESS_KEY"
ENV_SECRET_KEY = "DOLIUM_ROOT_SECRET_KEY"  # noqa: S105 (a variable name, not a secret)


@dataclass(frozen=True, slots=True)
class RootCredentials:
    access_key: str
    secret_key: str
    source: str  # "environment", or the path of the credentials file

    def __repr__(self) -> str:  # keep the secret out of tracebacks and logs
        return f"RootCredentials(access_key={self.access_key!r}, source={self.source!r})"


def root_credentials(data_dir: Path, env: Mapping[str, str]) -> RootCredentials:
    """The root key pair: from the environment, the credentials file, or new."""
    access_key = env.get(ENV_ACCESS_KEY, "")
    secret_key = env.get(ENV_SECRET_KEY, "")
    if access_key and secret_key:
        return RootCredentials(access_key, secret_key, "environment")
    if access_key or secret_key:
        raise ConfigError(
            f"root credentials: set both {ENV_ACCESS_KEY} and {ENV_SECRET_KEY}, or neither"
        )
    path = data_dir / CREDENTIALS_FILE
    if path.exists():
        return read_credentials(path)
    return write_credentials(path, new_access_key(), new_secret_key())


def read_credentials(path: Path) -> RootCredentials:
    fix = f"fix it, or remove it to generate a new root key ({ENV_ACCESS_KEY} also works)"
    try:
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            os.chmod(path, 0o600)  # the file holds a secret: owner only
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"root credentials file {path}: {exc.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ConfigError(f"root credentials file {path}: not valid JSON; {fix}") from None
    if not (
        isinstance(data, dict)
        and isinstance(data.get("access_key"), str)
        and isinstance(data.get("secret_key"), str)
        and data["access_key"]
        and data["secret_key"]
    ):
        raise ConfigError(f"root credentials file {path}: needs access_key and secret_key; {fix}")
    return RootCredentials(data["access_key"], data["secret_key"], str(path))


def write_credentials(path: Path, access_key: str, secret_key: str) -> RootCredentials:
    """Write the pair with mode 0600, atomically; if another process won, use its pair."""
    body = json.dumps({"access_key": access_key, "secret_key": secret_key}, indent=2) + "\n"
    try:
        # mkstemp creates the file with mode 0600 whatever the umask.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(body)
                f.flush()
                os.fsync(f.fileno())
            try:
                os.link(tmp, path)  # never replaces a file another start wrote meanwhile
            except FileExistsError:
                return read_credentials(path)
            except OSError:  # no hard links on this file system
                os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        fsync_dir(path.parent)
    except OSError as exc:
        raise ConfigError(
            f"root credentials file {path}: cannot write it: {exc.strerror} "
            "(check that the data directory is writable)"
        ) from None
    return RootCredentials(access_key, secret_key, str(path))


async def setup_root(config: Config, creds: RootCredentials) -> AccessKey:
    """Make sure the meta store has the root account with this key."""
    meta = await open_meta(config)
    try:
        return await AccountService(meta, time.time).ensure_root(creds.access_key, creds.secret_key)
    except InvalidArgument as exc:
        raise ConfigError(f"root credentials ({creds.source}): {exc.message}") from None
    finally:
        await meta.close()
