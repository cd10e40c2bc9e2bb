"""Parsers for the configuration files the auditor reads (and fixers edit minimally).

- :class:`PropertiesDocument`: Java ``.properties`` (Management conf, IMS application.properties)
- :class:`SpocConfDocument`: ``spoc.conf`` with its numbered Management-server list
- :func:`parse_xml`, :func:`remote_conf_properties`, :func:`app_settings`: safe XML
- :class:`ParseError`: names the file and the 1-based line
"""

from auditor.parsers.keyvalue import Entry, KeyValueDocument
from auditor.parsers.properties import PropertiesDocument, parse_properties
from auditor.parsers.spocconf import ServerEntry, SpocConfDocument
from auditor.parsers.text import Decoded, ParseError, TextFile, decode_bytes, split_lines
from auditor.parsers.xmlconf import XmlSettings, app_settings, parse_xml, remote_conf_properties

__all__ = [
    "Decoded", "Entry", "KeyValueDocument", "ParseError", "PropertiesDocument", "ServerEntry",
    "SpocConfDocument", "TextFile", "XmlSettings", "app_settings", "decode_bytes", "parse_properties",
    "parse_xml", "remote_conf_properties", "split_lines",
]
