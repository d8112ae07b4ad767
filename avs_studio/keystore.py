"""API keys in the user's own store, never in a project: the system keyring when one works, else a file
only the user can read (``AVS_STUDIO_CONFIG``/credentials.json, mode 0600). Qt-free.

Keys are kept per LLM endpoint (its base URL; "" = OpenAI's), so a key is only ever sent to the server
it was entered for. The environment (``AVS_STUDIO_LLM_API_KEY``, ``OPENAI_API_KEY``) is read by the
translator itself and needs nothing here. ``AVS_STUDIO_KEYRING`` = ``file`` skips the keyring.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from platformdirs import user_config_dir

from avs_studio.atomic import write_text

SERVICE = "avs-studio"
FILE_NAME = "credentials.json"


class KeyStoreError(Exception):
    """The key could not be kept (the keyring refused, or the credentials file cannot be written)."""


def config_dir() -> Path:
    return Path(os.environ.get("AVS_STUDIO_CONFIG") or user_config_dir("avs-studio"))


def _account(base_url: str | None) -> str:
    return "llm:" + ((base_url or "").strip().rstrip("/") or "default")


def _keyring() -> Any:
    """The system keyring backend, or None when there is none that works here (headless, no D-Bus)."""
    if os.environ.get("AVS_STUDIO_KEYRING", "auto") == "file":
        return None
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return None
    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 0) <= 0:
        return None
    return backend


def _file() -> Path:
    return config_dir() / FILE_NAME


def _read_file() -> dict[str, str]:
    path = _file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise KeyStoreError(f"{path} cannot be read as the key file ({exc}); fix or delete it") from exc
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _write_file(keys: dict[str, str]) -> Path:
    path = _file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_text(path, json.dumps(keys, indent=1, sort_keys=True))  # a fresh temp file: mode 0600
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    except OSError as exc:
        raise KeyStoreError(f"cannot write the key file {path} ({exc.strerror or exc})") from exc
    return path


def location() -> str:
    """Where keys go on this machine, for messages and the settings dialog."""
    backend = _keyring()
    return f"the system keyring ({type(backend).__name__})" if backend is not None else str(_file())


def get_api_key(base_url: str | None) -> str | None:
    """The key kept for the endpoint ``base_url`` (None when there is none)."""
    backend = _keyring()
    if backend is not None:
        try:
            key = backend.get_password(SERVICE, _account(base_url))
        except Exception:  # a locked or broken keyring: fall back to the file
            key = None
        if key:
            return str(key)
    return _read_file().get(_account(base_url)) or None


def set_api_key(base_url: str | None, key: str | None) -> str:
    """Keep ``key`` for the endpoint ``base_url`` (None or "" removes it); returns where it went."""
    account = _account(base_url)
    backend = _keyring()
    if backend is not None:
        try:
            if key:
                backend.set_password(SERVICE, account, key)
            else:
                try:
                    backend.delete_password(SERVICE, account)
                except Exception:  # nothing to delete
                    pass
            keys = _read_file()
            if account in keys:  # the keyring holds it now: no second copy in the file
                del keys[account]
                _write_file(keys)
            return location()
        except KeyStoreError:
            raise
        except Exception:  # the keyring refused: keep it in the file instead
            pass
    keys = _read_file()
    if key:
        keys[account] = key
    else:
        keys.pop(account, None)
    return str(_write_file(keys))
