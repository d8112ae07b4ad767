"""The desktop entry, AppStream metadata and icon are well-formed and agree with the package."""

import configparser
import xml.etree.ElementTree as ET
from pathlib import Path

import avs_studio

PKG = Path(__file__).resolve().parents[2] / "packaging"


def test_desktop_entry_has_required_keys():
    cp = configparser.ConfigParser(interpolation=None)
    cp.optionxform = str
    cp.read(PKG / "io.github.avsstudio.AVSStudio.desktop")
    entry = cp["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert entry["Exec"].split()[0] == "avs-studio-gui"
    assert entry["Icon"] == "avs-studio"
    assert entry["Categories"].endswith(";")


def test_metainfo_matches_version_and_desktop_id():
    root = ET.parse(PKG / "io.github.avsstudio.AVSStudio.metainfo.xml").getroot()
    assert root.findtext("id") == "io.github.avsstudio.AVSStudio"
    assert root.find("launchable").text == "io.github.avsstudio.AVSStudio.desktop"
    assert root.find("releases/release").get("version") == avs_studio.__version__


def test_icon_is_svg():
    root = ET.parse(PKG / "avs-studio.svg").getroot()
    assert root.tag.endswith("svg") and root.get("viewBox") == "0 0 256 256"
