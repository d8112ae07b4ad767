"""The API key never goes into the project database (every user of a shared PostgreSQL could read it):
it is kept in the user's own key store, filled back in for that user only (issue 10 item 8)."""

from __future__ import annotations

import json
import os
import stat

import pytest
from sqlalchemy import create_engine, text

from avs_studio import keystore
from avs_studio.store import Store, StoreError

KEY = "sk-test-0123456789-secret"
SETTINGS = {"profile": "default", "llm": {"base_url": "http://llm.local/v1", "model": "m", "api_key": KEY}}


def _raw_settings(url: str) -> str:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT key, value FROM settings")).all()
    engine.dispose()
    return json.dumps([(k, v if isinstance(v, str) else json.dumps(v)) for k, v in rows])


@pytest.fixture
def user(tmp_path, monkeypatch):
    """This test's own user: a fresh config folder, file key store."""
    monkeypatch.setenv("AVS_STUDIO_CONFIG", str(tmp_path / "alice-config"))
    monkeypatch.setenv("AVS_STUDIO_KEYRING", "file")
    return tmp_path / "alice-config"


def test_key_is_kept_out_of_the_database(store_url, open_store, user, monkeypatch):
    store = open_store()
    store.set_setting("pipeline", SETTINGS)
    assert KEY not in _raw_settings(store_url)  # what every user of the database can read
    assert store.get_setting("pipeline") == SETTINGS  # this user gets it back
    creds = user / keystore.FILE_NAME
    assert KEY in creds.read_text() and stat.S_IMODE(creds.stat().st_mode) == 0o600
    assert stat.S_IMODE(user.stat().st_mode) == 0o700
    monkeypatch.setenv("AVS_STUDIO_CONFIG", str(user.parent / "bob-config"))  # another user
    assert open_store("bob").get_setting("pipeline")["llm"]["api_key"] == ""


def test_keys_are_per_endpoint(open_store, user):
    store = open_store()
    store.set_setting("pipeline", SETTINGS)
    other = {**SETTINGS, "llm": {"base_url": "https://elsewhere.example/v1", "model": "m", "api_key": ""}}
    store.set_setting("pipeline", other)
    assert store.get_setting("pipeline")["llm"]["api_key"] == ""  # never sent to another server
    store.set_setting("pipeline", {**SETTINGS, "llm": {**SETTINGS["llm"], "api_key": ""}})
    assert store.get_setting("pipeline")["llm"]["api_key"] == KEY  # the first endpoint's is still kept
    assert keystore.get_api_key("http://llm.local/v1/") == KEY


def test_a_key_stored_by_an_older_version_is_moved_out_on_open(store_url, open_store, user):
    open_store().close()
    engine = create_engine(store_url)
    with engine.begin() as conn:  # as before: the whole dict, key included, in the settings table
        conn.execute(
            text("INSERT INTO settings (key, value) VALUES ('pipeline', :v)"), {"v": json.dumps(SETTINGS)}
        )
    engine.dispose()
    assert KEY in _raw_settings(store_url)
    with Store(store_url, read_only=True) as ro:  # a read-only open writes nothing
        assert ro.get_setting("pipeline")["llm"]["api_key"] == KEY
    assert KEY in _raw_settings(store_url)
    store = open_store()
    assert KEY not in _raw_settings(store_url)
    assert store.get_setting("pipeline") == SETTINGS


def test_the_proposal_job_still_gets_the_key(tmp_path, user):
    from avs_studio.jobs.project import init_project
    from avs_studio.jobs.propose import llm_settings

    with init_project(tmp_path / "p") as project:
        project.store.set_setting("pipeline", SETTINGS)
        assert llm_settings(project) == SETTINGS["llm"]


def test_unwritable_key_store_refuses_and_writes_nothing(open_store, store_url, tmp_path, monkeypatch):
    (tmp_path / "not-a-folder").write_text("x")
    monkeypatch.setenv("AVS_STUDIO_CONFIG", str(tmp_path / "not-a-folder"))
    store = open_store()
    with pytest.raises(StoreError, match="never in the project"):
        store.set_setting("pipeline", SETTINGS)
    assert store.get_setting("pipeline") is None and KEY not in _raw_settings(store_url)


def test_system_keyring_is_used_when_one_works(tmp_path, monkeypatch, user):
    keyring = pytest.importorskip("keyring")
    from keyring.backend import KeyringBackend

    class Memory(KeyringBackend):
        priority = 1
        data: dict = {}

        def get_password(self, service, username):
            return self.data.get((service, username))

        def set_password(self, service, username, password):
            self.data[(service, username)] = password

        def delete_password(self, service, username):
            self.data.pop((service, username), None)

    previous = keyring.get_keyring()
    keyring.set_keyring(Memory())
    try:
        keystore.set_api_key("http://x/v1", "file-first")  # AVS_STUDIO_KEYRING=file: the file
        assert "file-first" in (user / keystore.FILE_NAME).read_text()
        monkeypatch.setenv("AVS_STUDIO_KEYRING", "auto")
        with Store(f"sqlite:///{tmp_path / 'p.db'}") as store:
            store.set_setting("pipeline", {"llm": {"base_url": "http://x/v1", "api_key": "in-keyring"}})
            assert Memory.data == {("avs-studio", "llm:http://x/v1"): "in-keyring"}
            assert "file-first" not in (user / keystore.FILE_NAME).read_text()  # no second copy
            assert store.get_setting("pipeline")["llm"]["api_key"] == "in-keyring"
        assert keystore.location().startswith("the system keyring")
        keystore.set_api_key("http://x/v1", None)
        assert keystore.get_api_key("http://x/v1") is None
    finally:
        keyring.set_keyring(previous)
    assert os.environ["AVS_STUDIO_KEYRING"] == "auto"
