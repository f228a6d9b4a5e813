"""Parsers for the free-text fields of the stack config, each by the grammar that will read it.

Every parser returns the value unchanged or raises ``ValueError`` whose text says what to write,
with an example. ``SecretValueError`` marks a refusal whose value must not be shown (a credential in
a URL or a flag). The models attach these with ``AfterValidator`` so the annotation stays the plain
type the config reference prints.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import math
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import email_validator
from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator

from components.config.issues import has_url_userinfo, redact_url_userinfo

# Hospitals' internal mail (Active Directory domains, SMTP relays) is often under `.local`, which the
# library refuses as a special-use name by default; its documented switch is this list. The other
# special-use names (localhost, invalid, test, ...) stay refused.
if "local" in email_validator.SPECIAL_USE_DOMAIN_NAMES:
    email_validator.SPECIAL_USE_DOMAIN_NAMES.remove("local")


class SecretValueError(ValueError):
    """A refusal whose input may be a credential: the message says what is wrong without the value."""


TYPOGRAPHIC = {"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2018": "'", "\u2019": "'", "\u00ab": '"',
               "\u00bb": '"', "\u2032": "'", "\u2033": '"'}
DASHES = {"\u2013": "-", "\u2014": "--", "\u2212": "-", "\u2010": "-", "\u2011": "-"}


def plain_text(value: str) -> str:
    """Every text field: not empty, no typographic quotes, no surrounding blanks, no control characters."""
    if not value.strip():
        raise ValueError("is empty; give a value, or remove the key where it has a default")
    if any(c in value for c in TYPOGRAPHIC):
        fixed = value
        for c in TYPOGRAPHIC:
            fixed = fixed.replace(c, "")
        raise ValueError(f"contains typographic quotes (pasted from a document); write {fixed.strip()!r} "
                         "with no quotes or with straight ones")
    # PEM text pasted as a YAML block scalar (`|`) ends with its line break, as PEM files do.
    pem_line_end = "-----END " in value and value.rstrip("\n") == value.strip()
    if value != value.strip() and not pem_line_end:
        raise ValueError(f"has blanks around it; write {value.strip()!r}")
    if any(ord(c) < 32 and c not in "\n" for c in value) or "\x7f" in value:
        raise ValueError("contains a control character (tab or similar); retype the value")
    return value


def _one_line(value: str, what: str) -> None:
    if not value:
        raise ValueError(f"is empty; give the {what}")
    if any(c.isspace() for c in value):
        raise ValueError(f"contains a blank; a {what} has none")


# ---------------------------------------------------------------------------------------------
# Kubernetes names
# ---------------------------------------------------------------------------------------------

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
RESERVED_NAMESPACES = ("default",)
RESERVED_PREFIXES = ("kube-", "vmware-system-", "tkg-system")


def _label_fix(value: str) -> str:
    fixed = re.sub(r"[^a-z0-9-]+", "-", value.lower()).strip("-")[:63].strip("-")
    return fixed or "llm-serving"


def dns_label(value: str) -> str:
    if not _DNS_LABEL.match(value):
        raise ValueError(f"must be a DNS label: lowercase letters, digits and '-', at most 63 characters, starting and "
                         f"ending with a letter or digit, e.g. {_label_fix(value)!r}")
    return value


def dns_subdomain(value: str) -> str:
    if len(value) > 253 or not _DNS_SUBDOMAIN.match(value):
        fixed = re.sub(r"[^a-z0-9.-]+", "-", value.lower()).strip("-.") or "llm-encrypted"
        raise ValueError(f"must be a Kubernetes name: lowercase letters, digits, '-' and '.', e.g. {fixed!r}")
    return value


def storage_policy(value: str) -> str:
    if _DNS_SUBDOMAIN.match(value) and len(value) <= 253:
        return value
    fixed = re.sub(r"[^a-z0-9.-]+", "-", value.lower()).strip("-.")
    raise ValueError(f"the cluster uses this policy name as its storage class, and vSphere turns a name like this one "
                     f"into {fixed!r} there; name the policy in vCenter as a Kubernetes name, e.g. {fixed!r}")


def namespace(value: str) -> str:
    """A namespace the platform creates or admits: a DNS label, never a namespace the cluster owns."""
    dns_label(value)
    if value in RESERVED_NAMESPACES or value.startswith(RESERVED_PREFIXES):
        raise ValueError(f"{value!r} belongs to Kubernetes or Tanzu; workloads there escape the platform's "
                         "policies. Use a namespace of the platform's own, e.g. 'llm-serving'")
    return value


def namespaces(values: tuple[str, ...]) -> tuple[str, ...]:
    for value in values:
        try:
            namespace(value)
        except ValueError as error:
            raise ValueError(f"entry {value!r} {error}") from None
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
        raise ValueError(f"lists {repeated} more than once; list each namespace once")
    return values


# ---------------------------------------------------------------------------------------------
# Addresses
# ---------------------------------------------------------------------------------------------


def cidr(value: str) -> str:
    """A network in CIDR notation, as a NetworkPolicy ipBlock and the cluster's network settings take it."""
    if value.strip().lower() in ("any", "all", "*", "0/0", "anywhere"):
        raise ValueError("is not a CIDR; write '0.0.0.0/0' for any IPv4 address, or better the real network, "
                         "e.g. '10.20.0.0/16'")
    if "/" not in value:
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            raise ValueError("is not a CIDR: NetworkPolicies match addresses, not host names; resolve the name "
                             "and write its network, e.g. '10.20.0.0/16' or '10.20.4.17/32'") from None
        raise ValueError(f"is an address without a prefix length; write '{address}/{address.max_prefixlen}' "
                         "for the single address, or its network")
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError:
        try:
            loose = ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ValueError("is not a CIDR: write an address, '/', and a prefix length of at most 32 (IPv4) or 128 "
                             "(IPv6), e.g. '10.20.0.0/16'") from None
        address = value.split("/", 1)[0]
        raise ValueError(f"has host bits set: its network is '{loose}'; write that, or "
                         f"'{address}/{loose.max_prefixlen}' for the single address") from None
    if str(network) != value:
        raise ValueError(f"write it in canonical form: '{network}'")
    return value


def cidrs(values: tuple[str, ...]) -> tuple[str, ...]:
    if not values:
        raise ValueError("needs at least one CIDR, e.g. ['10.20.0.0/16']; '0.0.0.0/0' allows any address")
    for value in values:
        try:
            cidr(value)
        except ValueError as error:
            raise ValueError(f"entry {value!r} {error}") from None
    return values


_HOST_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def _host_problem(host: str, allow_ip: bool, allow_wildcard: bool = False) -> str | None:
    if allow_ip:
        try:
            ipaddress.ip_address(host.strip("[]"))
            return None
        except ValueError:
            pass
    name = host[2:] if allow_wildcard and host.startswith("*.") else host
    if name != name.lower():
        return f"must be lowercase: {host.lower()!r}"
    labels = name.split(".")
    if len(name) > 253 or not all(_HOST_LABEL.match(label) for label in labels):
        return "is not a host name: letters, digits and '-' in dot-separated labels, e.g. 'vcenter-a.hospital.example'"
    if labels[-1].isdigit():
        return "is not a host name (its last label is a number) nor an IP address"
    return None


def _strip_scheme_advice(value: str) -> str | None:
    """When a host name was given as a URL, what to write instead."""
    if "://" in value:
        parts = urlsplit(value)
        return parts.hostname or value.split("://", 1)[1].split("/", 1)[0]
    return None


def _without_userinfo(value: str) -> str:
    """``user:pw@host`` or ``https://user:pw@host/x`` with the part before '@' redacted."""
    if "://" in value:
        return redact_url_userinfo(value)
    return "<redacted>@" + value.rsplit("@", 1)[1]


def host(value: str, *, allow_ip: bool = True, allow_port: bool = False, allow_wildcard: bool = False,
         example: str = "vcenter-a.hospital.example") -> str:
    if has_url_userinfo(value) or ("@" in value and "://" not in value and "/" not in value):
        raise SecretValueError(f"holds a user name or password before '@' ({_without_userinfo(value)}); "
                               "credentials are secrets: give the host name alone, e.g. " + repr(example))
    bare = _strip_scheme_advice(value)
    if bare is not None:
        raise ValueError(f"is a URL; give the host name only, without scheme or path: {bare!r}")
    if "/" in value:
        raise ValueError(f"is a host name, without a path: {value.split('/', 1)[0]!r}")
    name, port = value, None
    if value.count(":") == 1 or (value.startswith("[") and "]:" in value):
        name, _, port = value.rpartition(":")
    if port is not None:
        if not allow_port:
            raise ValueError(f"is a host name without a port: {name!r}")
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"port {port!r} is not a number from 1 to 65535")
    problem = _host_problem(name, allow_ip, allow_wildcard)
    if problem:
        raise ValueError(f"{problem}; e.g. {example!r}")
    return value


def host_port(value: str) -> str:
    """``host:port`` of an SMTP relay."""
    example = "smtp.hospital.example:587"
    if "://" in value or "@" in value:
        host(value, allow_port=True, example=example)
    if value.count(":") != 1 and not (value.startswith("[") and "]:" in value):
        raise ValueError(f"must be host:port, e.g. '{value.split(':')[0] or 'smtp.hospital.example'}:587'")
    return host(value, allow_port=True, example=example)


def registry_host(value: str) -> str:
    """A registry as image references name it: host[:port], lowercase, no scheme or path."""
    if has_url_userinfo(value) or "@" in value:
        raise SecretValueError(f"holds credentials before '@' ({_without_userinfo(value)}); the registry is its host "
                               "name alone, the password is the secret registryPassword")
    bare = _strip_scheme_advice(value)
    if bare is not None:
        raise ValueError(f"image references carry no scheme; write the registry host alone: {bare!r}")
    if "/" in value:
        raise ValueError(f"a registry is a host name; the path belongs in the repository: {value.split('/', 1)[0]!r}")
    return host(value, allow_port=True, example="harbor-a.hospital.example")


def url(value: str, *, https: bool = True, allow_relative: bool = False, allow_query: bool = True,
        example: str = "https://sso.hospital.example/realms/clinical") -> str:
    if has_url_userinfo(value):
        raise SecretValueError(f"embeds a user name or password ({redact_url_userinfo(value)}); credentials never go in "
                               "the stack file: remove them (and rotate them: the file is in version control)")
    if any(c.isspace() for c in value):
        raise ValueError(f"contains a blank; a URL has none (encode it as %20), e.g. {example!r}")
    parts = urlsplit(value)
    if not parts.scheme:
        if allow_relative and not value.startswith("//"):
            return value
        host_part = value.lstrip("/").split("/", 1)[0]
        guess = f"https://{value.lstrip('/')}" if "." in host_part and _host_problem(host_part.split(":")[0], True) is None \
            else example
        raise ValueError(f"must be a full URL with https://, e.g. {guess!r}")
    if https and parts.scheme != "https":
        raise ValueError(f"must use https:// (TLS is required, 45 CFR 164.312(e)(1)), e.g. "
                         f"{'https://' + value.split('://', 1)[1] if '://' in value else example!r}")
    if parts.scheme not in ("https", "http"):
        raise ValueError(f"must be an http(s) URL, e.g. {example!r}")
    if not parts.hostname:
        raise ValueError(f"has no host name, e.g. {example!r}")
    try:
        _ = parts.port
    except ValueError:
        raise ValueError("has a port that is not a number from 1 to 65535") from None
    problem = _host_problem(parts.hostname, allow_ip=True)
    if problem:
        raise ValueError(f"host {problem}")
    credentials = [name for name, _ in parse_qsl(parts.query, keep_blank_values=True) if _CREDENTIAL_PARAM.search(name)]
    if credentials:
        raise SecretValueError(f"carries a credential in its query string ({', '.join(credentials)}=<redacted>), which "
                               "ends up in logs, alerts and the state file in plain text; remove it (and rotate it: the "
                               f"file is in version control): {value.split('?')[0]!r}")
    if not allow_query and (parts.query or parts.fragment):
        raise ValueError(f"must have no query or fragment: {value.split('?')[0].split('#')[0]!r}")
    return value


_CREDENTIAL_PARAM = re.compile(
    r"(token|secret|passw|pwd|api[-_]?key|apikey|access[-_]?key|signature|^sig$|^x-amz-|credential|auth|session|^key$)",
    re.IGNORECASE)
"""Query parameter names that carry credentials (private_token, access_token, X-Amz-Signature, sig, key, ...)."""


DISCOVERY_PATHS = ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server")


def issuer(value: str) -> str:
    """The `iss` claim exactly: the discovery document sits under it, but is not it."""
    for path in DISCOVERY_PATHS:
        if value.rstrip("/").endswith(path):
            raise ValueError(f"is the discovery document's URL; the issuer is the `issuer` field inside it (the `iss` "
                             f"claim of the tokens), usually the URL without {path}: {value.rstrip('/')[:-len(path)]!r}")
    return value


def no_fragment(value: str) -> str:
    if "#" in value:
        raise ValueError(f"alerts append #alert-<name> to it; give the page without a fragment: {value.split('#')[0]!r}")
    return value


def email(value: str, *, display_name: bool = False) -> str:
    """An e-mail address (``Name <addr>`` where a display name is allowed)."""
    address = value
    if display_name:
        match = re.fullmatch(r"\s*(?:\"?[^\"<>]*\"?\s*)?<([^<>]+)>\s*", value)
        if match:
            address = match.group(1)
    try:
        validate_email(address, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as error:
        raise ValueError(f"is not an e-mail address ({error}); e.g. 'llm-platform-oncall@hospital.example'") from None
    return value


def emails(values: tuple[str, ...]) -> tuple[str, ...]:
    for value in values:
        try:
            email(value)
        except ValueError as error:
            raise ValueError(f"entry {value!r} {error}") from None
    return values


def email_list(value: str) -> str:
    """Alertmanager's ``to``: one address or several separated by commas."""
    for part in value.split(","):
        email(part.strip(), display_name=True)
    return value


# ---------------------------------------------------------------------------------------------
# OCI image references (distribution/reference grammar)
# ---------------------------------------------------------------------------------------------

_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)?"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
_NAME = re.compile(rf"^(?P<domain>{_DOMAIN})/(?P<path>{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
FLOATING_TAGS = ("latest",)


def image_repository(value: str) -> str:
    """``registry-host[:port]/path`` of an image, with no tag or digest (distribution/reference)."""
    if has_url_userinfo(value) or ("@" in value and not value.rsplit("@", 1)[1].startswith(("sha256:", "sha512:"))):
        raise SecretValueError(f"embeds credentials ({_without_userinfo(value)}); the pull account is "
                               "tanzu.registry.username and the secret registryPassword")
    if "://" in value:
        raise ValueError(f"image references carry no scheme; write {value.split('://', 1)[1]!r}")
    if "@" in value:
        name, _, digest = value.partition("@")
        raise ValueError(f"holds a digest; the repository is {name!r} and the digest ({digest[:14]}...) goes in "
                         "image.digest")
    last = value.rsplit("/", 1)[-1]
    if ":" in last and "/" in value:
        name, _, tag = value.rpartition(":")
        raise ValueError(f"holds a tag; the repository is {name!r} and {tag!r} goes in the tag key")
    if "/" not in value:
        raise ValueError(f"names no registry; images come from the private registry, e.g. "
                         f"'harbor-a.hospital.example/{value.lower() or 'vllm/vllm-openai'}'")
    domain = value.split("/", 1)[0]
    if "." not in domain and ":" not in domain and domain != "localhost":
        raise ValueError(f"starts with {domain!r}, which an image reference reads as a Docker Hub path, not a registry; "
                         f"prefix the registry host, e.g. 'harbor-a.hospital.example/{value}'")
    if value != value.lower():
        raise ValueError(f"repository names are lowercase: {value.lower()!r}")
    if len(value) > 255 or not _NAME.match(value):
        raise ValueError("is not an image repository: a registry host, then '/'-separated lowercase components of "
                         "letters and digits joined by '.', '_', '__' or '-', e.g. 'harbor-a.hospital.example/vllm/"
                         "vllm-openai'")
    return value


def registry_path(value: str) -> str:
    """A project path in a registry (OCI repository path components)."""
    if re.fullmatch(rf"{_PATH_COMPONENT}(/{_PATH_COMPONENT})*", value):
        return value
    fixed = "/".join(part for part in re.sub(r"[^a-z0-9._/-]+", "-", value.strip().strip("/").lower()).split("/") if part)
    fixed = re.sub(r"[._-]*/[._-]*", "/", fixed).strip("._-")
    example = fixed if fixed and re.fullmatch(rf"{_PATH_COMPONENT}(/{_PATH_COMPONENT})*", fixed) else "charts"
    raise ValueError(f"is a registry project path: lowercase letters and digits, with '.', '_', '-' or '/' only "
                     f"between them (no scheme, host or leading '/'), e.g. {example!r}")


def image_tag(value: str) -> str:
    if value.startswith("sha256:"):
        raise ValueError("is a digest; put it in the digest key and give the release tag here, e.g. 'v0.12.0'")
    if value in FLOATING_TAGS or not value:
        raise ValueError("a floating tag cannot be reproduced or audited; pin a release tag such as v0.11.0")
    if ":" in value or "@" in value:
        raise ValueError(f"a tag has no ':' or '@' (one tag per image); write {value.split(':')[-1].split('@')[0]!r}")
    if not _TAG.match(value):
        raise ValueError("is not an image tag: letters, digits, '_', '.' and '-', at most 128, not starting with "
                         "'.' or '-', e.g. 'v0.12.0'")
    return value


def image_digest(value: str) -> str:
    if _DIGEST.match(value):
        return value
    if re.fullmatch(r"sha256:[0-9a-fA-F]{64}", value):
        raise ValueError(f"digest hex is lowercase: {value.lower()!r}")
    if re.fullmatch(r"[0-9a-f]{64}", value):
        raise ValueError(f"needs the algorithm: 'sha256:{value}'")
    raise ValueError("is not a content digest: 'sha256:' and 64 lowercase hex characters, as `crane digest` or "
                     "`docker buildx imagetools inspect` print it")


def image_digests(entries: dict[str, str]) -> None:
    """``<path>:<tag>`` (an image's path in the site's registry, no host) to the digest of the site's copy."""
    for key, digest in entries.items():
        path, colon, tag = key.rpartition(":")
        first = path.split("/", 1)[0]
        if "/" in path and ("." in first or first == "localhost"):
            raise ValueError(f"key {key!r} names a registry host; give the path under tanzu.registry.server, without "
                             f"its host: {path.split('/', 1)[1] + colon + tag!r}")
        if not colon or not re.fullmatch(rf"{_PATH_COMPONENT}(/{_PATH_COMPONENT})*", path) or not _TAG.match(tag):
            raise ValueError(f"key {key!r} is not '<path>:<tag>' of an image in the registry, without its host, "
                             "e.g. 'envoyproxy/envoy:distroless-v1.39.0' (as `python -m offline mirror` lists it)")
        try:
            image_digest(digest)
        except ValueError as error:
            raise ValueError(f"{key!r}: {digest!r} {error}") from None


def chart_digests(entries: dict[str, str]) -> None:
    """Chart name to the OCI manifest digest of its copy in the registry's chart mirror."""
    for name, digest in entries.items():
        if not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name):
            raise ValueError(f"key {name!r} is not a chart name (as artifacts.lock.json pins it, e.g. 'keda')")
        try:
            image_digest(digest)
        except ValueError as error:
            raise ValueError(f"{name!r}: {digest!r} {error} (`helm push` prints it as Digest)") from None


# ---------------------------------------------------------------------------------------------
# Other grammars
# ---------------------------------------------------------------------------------------------

_HF_REPO = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?/[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?$")


def hf_repo(value: str) -> str:
    if "://" in value or value.startswith("huggingface.co/"):
        repo = "/".join(value.split("://", 1)[-1].split("/")[1:3])
        raise ValueError(f"is a URL; give the repository id: {repo!r}")
    if not _HF_REPO.match(value) or "--" in value or ".." in value:
        raise ValueError("is not a Hugging Face repository id: '<owner>/<name>', e.g. 'meta-llama/Llama-2-7b-chat-hf'")
    return value


def git_revision(value: str) -> str:
    if re.fullmatch(r"[0-9a-f]{40}", value):
        return value
    if re.fullmatch(r"[0-9a-fA-F]{40}", value):
        raise ValueError(f"write the commit in lowercase: {value.lower()!r}")
    if re.fullmatch(r"[0-9a-f]{7,39}", value):
        raise ValueError("is a short commit id; give all 40 hex characters (the full sha of the commit)")
    raise ValueError("must be the full 40-character commit sha of the repository, e.g. "
                     "'f5db02db724555f92da89c216ac04704f23d4590'; a branch or tag name ('main') can move, so the "
                     "staged weights could not be reproduced")


def weights_manifest(manifest: dict[str, str]) -> dict[str, str]:
    """``{relative path: sha256 hex}`` of every file of a model revision, as recorded when it was mirrored."""
    if not manifest:
        raise ValueError("lists no file; record the mirrored revision's files with "
                         "`python -m tools.weights_manifest <dir>` and paste its output")
    for path, digest in manifest.items():
        if path.startswith(("/", "~")) or ".." in path.split("/") or "\\" in path or path.startswith(".cache/"):
            raise ValueError(f"names {path!r}; name each file relative to the revision's directory, e.g. 'config.json'")
        if not re.fullmatch(r"[0-9a-f]{64}", digest.removeprefix("sha256:")):
            raise ValueError(f"gives {path!r} the digest {digest!r}; each file's digest is 64 lowercase hex characters "
                             "of its SHA-256 (`sha256sum`, or the LFS oid the mirror recorded)")
        if digest.startswith("sha256:"):
            raise ValueError(f"gives {path!r} the digest {digest!r}; write the 64 hex characters without 'sha256:'")
    return manifest


def identity_digest(value: str) -> str:
    """A full content digest, ``sha256:`` and 64 hex characters, as the staging and evaluation Jobs print them."""
    if not re.fullmatch(r"sha256:[0-9a-f]{64}", value):
        raise ValueError("is a digest as the Job printed it: 'sha256:' and 64 lowercase hex characters")
    return value


def served_model_name(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}", value):
        raise ValueError("clients send it as `model` and metrics label it: letters, digits and '.', '_', ':', '/', "
                         "'-', at most 128, e.g. 'llama-2-7b-chat'")
    return value


def supervisor_id(value: str) -> str:
    if re.fullmatch(r"domain-c\d+", value) or re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", value):
        return value
    raise ValueError("is the Supervisor's id: its compute cluster's managed object id, e.g. 'domain-c8' "
                     "(`dcli com vmware vcenter namespacemanagement supervisors summaries list`)")


def stack_name(value: str) -> str:
    """A StackReference name: `organization/project/stack` (the form every backend accepts)."""
    parts = value.split("/")
    if len(parts) == 3 and all(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", p) for p in parts):
        return value
    raise ValueError("is the primary's fully qualified stack name, organization/project/stack, e.g. "
                     "'organization/onprem-llm/prod' (`pulumi stack ls --all` on the primary's backend; a self-managed "
                     "backend uses the organization `organization`)")


def relative_path(value: str) -> str:
    """A file of the site repository, named relative to the program's directory."""
    if value.startswith(("/", "~")) or ".." in value.split("/") or "\\" in value:
        raise ValueError("is a file in the site repository, relative to Pulumi.yaml and without '..', "
                         "e.g. 'primary-outputs.json'")
    return value


MINIMUM_KUBERNETES = (1, 32)
"""The oldest Kubernetes minor the platform runs on: the locked Envoy Gateway and AI gateway charts need it."""
TKR_EXAMPLE = "v1.32.0---vmware.6-fips-vkr.2"


def tkr(value: str) -> str:
    match = re.fullmatch(r"v(1)\.(\d+)\.\d+(\+|---)vmware\.\d+[0-9A-Za-z.+-]*", value)
    if not match:
        raise ValueError(f"is not a Tanzu Kubernetes release name, e.g. {TKR_EXAMPLE!r} (`kubectl get tkr` on the "
                         "Supervisor, NAME column)")
    if "+" in value:
        # `kubectl get tkr` shows the version (v1.32.0+vmware.6-...) beside the name; only the name is an object name.
        raise ValueError(f"is the TKr's version, not its name: '+' cannot be in an object name, and the TKr object "
                         f"writes it as '---': {value.replace('+', '---')!r}")
    if (int(match.group(1)), int(match.group(2))) < MINIMUM_KUBERNETES:
        raise ValueError(f"is Kubernetes 1.{match.group(2)}; the platform needs {_minor(MINIMUM_KUBERNETES)} or newer (the "
                         f"Envoy Gateway and AI gateway charts require it): pick a TKr of 1.32 or newer, e.g. "
                         f"{TKR_EXAMPLE!r}")
    return value


def _minor(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def kubernetes_minor(value: str) -> str:
    match = re.fullmatch(r"(1)\.(\d{2})", value)
    if not match:
        raise ValueError(f"is the Kubernetes minor version of the TKr in quotes, e.g. \"{_minor(MINIMUM_KUBERNETES)}\"")
    if (int(match.group(1)), int(match.group(2))) < MINIMUM_KUBERNETES:
        raise ValueError(f"is below {_minor(MINIMUM_KUBERNETES)}, the oldest Kubernetes the platform runs on (the Envoy "
                         f"Gateway and AI gateway charts require it); pick a TKr of {_minor(MINIMUM_KUBERNETES)} or newer "
                         f"and set its minor here, e.g. \"{_minor(MINIMUM_KUBERNETES)}\"")
    return value


def driver_version(value: str) -> str:
    if re.fullmatch(r"\d{3}\.\d{1,3}(\.\d{1,3})?", value):
        return value
    raise ValueError("is an NVIDIA driver version, e.g. '570.158.01' (the guest driver's, matching the vGPU "
                     "Manager branch on the hosts)")


def s3_bucket(value: str) -> str:
    if (re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", value) and ".." not in value
            and not re.fullmatch(r"\d+\.\d+\.\d+\.\d+", value)):
        return value
    fixed = re.sub(r"[^a-z0-9.-]+", "-", value.lower()).strip("-.") or "llm-platform-backups"
    raise ValueError("is not an S3 bucket name: 3 to 63 lowercase letters, digits, '.' and '-', starting and ending "
                     f"with a letter or digit, e.g. {fixed!r}")


def s3_region(value: str) -> str:
    if re.fullmatch(r"[a-z0-9][a-z0-9-]{0,62}", value):
        return value
    raise ValueError("is a region name as the store expects it, e.g. 'us-east-1'")


def s3_prefix(value: str) -> str:
    if not value or value.startswith("/") or value.endswith("/") or "//" in value or ".." in value.split("/") \
            or any(c.isspace() for c in value):
        raise ValueError(f"is a path inside the bucket without leading or trailing '/', e.g. {value.strip('/') or 'prod'!r}")
    return value


def base64_pem(value: str) -> str:
    """A base64-encoded PEM certificate (as Tanzu's trust settings and Velero's caCert take them)."""
    if "-----BEGIN" in value:
        raise ValueError("is PEM text; give it base64-encoded on one line (`base64 -w0 ca.crt`)")
    try:
        decoded = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError("is not base64; encode the PEM file on one line (`base64 -w0 ca.crt`)") from None
    if "-----BEGIN CERTIFICATE-----" not in decoded:
        raise ValueError("decodes to no PEM certificate (-----BEGIN CERTIFICATE-----); encode the CA's .crt file")
    return value


def reason(text: str) -> str:
    if not text.strip():
        raise ValueError("needs its reason (auditors read it), e.g. 'GPU driver and toolkit load kernel modules'")
    return text


def claim_name(value: str) -> str:
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.:/-]{0,127}", value):
        return value
    raise ValueError("is a JWT claim name, e.g. 'sub', 'preferred_username' or 'email'")


LIST_CLAIMS = {"groups", "roles", "amr", "aud", "wids", "realm_access", "resource_access", "realm_access.roles",
               "memberof", "member_of", "entitlements", "scp", "scope"}
"""Claims that hold several values per token (lists, or space-separated scopes)."""


def group_claim(value: str) -> str:
    """The claim naming the caller's one group: Envoy Gateway copies only a single-valued claim into a header."""
    claim_name(value)
    if value.lower() in LIST_CLAIMS or value.lower().endswith((".roles", ".groups")):
        raise ValueError("holds several values per token, and Envoy Gateway copies only single-valued claims into the "
                         "headers that access, limits and quotas key on; map the caller's department to a claim of "
                         "its own in the IdP (one string per token), e.g. 'department'")
    return value


def claim_value(value: str) -> str:
    """A value of a token claim the gateway matches exactly (a group), and that rules and dashboards quote."""
    if len(value) > 128:
        raise ValueError(f"is {len(value)} characters; a group name in a token claim is at most 128, e.g. 'radiology'")
    bad = sorted({c for c in value if c in '"\\%,' or ord(c) < 32})
    if bad:
        raise ValueError(f"contains {bad}: the gateway copies the group into a header, metrics and alert rules, "
                         "which cannot carry quotes, backslashes, '%' or ','; use the IdP's plain group name, "
                         "e.g. 'radiology'")
    return value


def ordered_quotas(value: Any) -> Any:
    """Quotas in the order their rate-limit rules take (Envoy Gateway keys a rule's counters by its position).

    A list of ``{group, tokens}`` keeps its order, so a department added at the end moves no other's count. A
    mapping is taken in sorted order: the Pulumi CLI hands objects to the program with their keys sorted, so a
    mapping's own order never reaches the program.
    """
    if isinstance(value, dict):
        return dict(sorted(value.items()))
    if not isinstance(value, list):
        return value
    found: dict[str, Any] = {}
    for index, item in enumerate(value):
        if not isinstance(item, dict) or set(item) != {"group", "tokens"} or not isinstance(item["group"], str):
            raise ValueError(f"item {index} must be {{group: <name>, tokens: <per month>}}, the name a text, e.g. "
                             "{group: radiology, tokens: 100000000}")
        if item["group"] in found:
            raise ValueError(f"group {item['group']!r} is listed twice; keep one entry")
        found[item["group"]] = item["tokens"]
    return found


def token_quotas(quotas: dict[str, int]) -> dict[str, int]:
    """Group name to tokens per month."""
    for group, tokens in quotas.items():
        try:
            claim_value(group)
        except ValueError as error:
            raise ValueError(f"group {group!r} {error}") from None
        if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 1:
            raise ValueError(f"group {group!r}: the quota is a whole number of tokens of at least 1, e.g. 100000000")
        if tokens > 1_000_000_000_000:
            raise ValueError(f"group {group!r}: {tokens} tokens a month is above the plausible maximum of 10^12")
    return quotas


def vsphere_user(value: str) -> str:
    _one_line(value, "user name")
    lowered = value.lower()
    local = lowered.split("\\", 1)[1] if "\\" in lowered else lowered.split("@", 1)[0]
    if local in ("administrator", "root"):
        raise ValueError(
            "the built-in administrator identifies no person (45 CFR 164.312(a)(2)(i)); use a dedicated service "
            "account, e.g. 'svc-llm-platform@vsphere.local'")
    if "@" in value and "\\" in value:
        raise ValueError("mixes DOMAIN\\user and user@domain; write one form, e.g. 'svc-llm-platform@vsphere.local'")
    return value


def group_name(value: str) -> str:
    if not value:
        raise ValueError("is empty; give the identity provider's group name")
    if value.lower().startswith("system:"):
        raise ValueError("system: groups are Kubernetes built-ins (system:masters bypasses RBAC, system:authenticated "
                         "is everyone); give the identity provider's group, e.g. 'sso:llm-platform-operators@hospital.example'")
    return value


def vsphere_principal(value: str) -> str:
    """A vCenter user or group as vCenter's namespace access API splits it: a domain and a name (AD group names
    may hold blanks)."""
    if not value or value != value.strip() or any(c in value for c in "\r\n\t"):
        raise ValueError("is empty, padded or spans lines; give one vCenter user or group, e.g. "
                         "'HOSPITAL.EXAMPLE\\llm-operators'")
    if re.fullmatch(r"[^\\@\s]+\\[^\\@]+", value) or re.fullmatch(r"[^\\@\s]+@[^\\@\s]+", value):
        return value
    raise ValueError("is a vCenter user or group as DOMAIN\\name or name@domain, e.g. 'HOSPITAL.EXAMPLE\\llm-operators' "
                     "or 'svc-llm-platform@vsphere.local' (in YAML, unquoted or in single quotes)")


def vsphere_group(value: str) -> str:
    group_name(value)
    if re.fullmatch(r"[^\\@\s]+\\[^\\@]+", value) or re.fullmatch(r"[^\\@\s]+@[^\\@\s]+", value):
        return value
    raise ValueError("is a vCenter group as DOMAIN\\group or group@domain, e.g. 'HOSPITAL.EXAMPLE\\llm-operators' "
                     "(in YAML, unquoted or in single quotes)")


# ---------------------------------------------------------------------------------------------
# Plausible ranges, with the unit and the likely slip in the message
# ---------------------------------------------------------------------------------------------


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def at_most(limit: float, unit: str, slip: tuple[str, float] | None = None) -> AfterValidator:
    """Refuse values above a plausible ``limit``; ``slip`` = (unit the value was probably given in, factor)."""

    def check(value: float | None) -> float | None:
        if value is None or value <= limit:
            return value
        hint = ""
        if slip is not None:
            other, factor = slip
            meant = value / factor
            if meant <= limit:
                meant = round(meant) if float(meant).is_integer() else round(meant, 6)
                hint = f"; {_number(value)} looks like {other}: did you mean {_number(meant)}?"
        raise ValueError(f"is in {unit}; {_number(value)} is above the plausible maximum of {_number(limit)} {unit}{hint}")

    return AfterValidator(check)


def layout_size(value: Any, most: int, what: str) -> int | str:
    """A layout dimension: a whole number from 1 to ``most`` (``what`` they count), or ``auto``.

    Runs before type validation, so the union with ``auto`` reports one readable reason.
    """
    if isinstance(value, bool):
        raise ValueError(f"must be a whole number of {what} or auto; YAML read {str(value).lower()} as a boolean")
    if isinstance(value, str):
        if value == "auto":
            return value
        if value.strip().lower() == "auto":
            raise ValueError("write auto in lowercase, without blanks")
        if not value.strip().isdigit():
            raise ValueError(f"must be a whole number of {what} (1 to {most}) or auto, not {value!r}")
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int):
        raise ValueError(f"must be a whole number of {what} (1 to {most}) or auto")
    if not 1 <= value <= most:
        raise ValueError(f"must be from 1 to {most} ({what}), or auto")
    return value


def checked(*parsers: Callable[[Any], Any]) -> AfterValidator:
    """Run ``parsers`` on a field's value (after the plain-text check for text), skipping an unset value."""
    def run(value: Any) -> Any:
        if value is None:
            return value
        if isinstance(value, str):
            plain_text(value)
        for parse in parsers:
            parse(value)
        return value
    return AfterValidator(run)


def no_duplicates(values: Iterable[str]) -> None:
    seen = [v.lower() for v in values]
    repeated = sorted({v for v in seen if seen.count(v) > 1})
    if repeated:
        raise ValueError(f"lists {repeated} more than once; list each once")


def finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


def ed25519_public_key(value: str) -> str:
    """An Ed25519 public key in PEM (SubjectPublicKeyInfo), as auditors verify the manifests with it."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    if "PRIVATE KEY" in value:
        raise SecretValueError("holds a private key; the private key is the secret auditSigningKey (`pulumi config set "
                               "--secret auditSigningKey < audit-signing-key.pem`), and this key takes its public half "
                               "(`openssl pkey -in audit-signing-key.pem -pubout`). Rotate the key: the stack file is in "
                               "version control")
    try:
        key = serialization.load_pem_public_key(value.encode())
    except (ValueError, TypeError):
        raise ValueError("is not a PEM public key (-----BEGIN PUBLIC KEY-----); write the output of "
                         "`openssl pkey -in audit-signing-key.pem -pubout`") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("is not an Ed25519 key; make one with `openssl genpkey -algorithm ed25519 -out "
                         "audit-signing-key.pem`")
    return value


def signing_public_key(value: str) -> str:
    """The EC public key (PEM) a model-signing signature made with a private key verifies with."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey

    if "PRIVATE KEY" in value:
        raise SecretValueError("holds a private key; give only its public half (`openssl pkey -in signing-key.pem "
                               "-pubout`) and keep the private key with whoever signs models. Rotate the key: the "
                               "stack file is in version control")
    try:
        key = serialization.load_pem_public_key(value.encode())
    except (ValueError, TypeError):
        raise ValueError("is not a PEM public key (-----BEGIN PUBLIC KEY-----); write the output of "
                         "`openssl pkey -in signing-key.pem -pubout`") from None
    # model_signing signs with these curves only (the Sigstore bundle's key details).
    if not isinstance(key, EllipticCurvePublicKey) or key.curve.name not in ("secp256r1", "secp384r1", "secp521r1"):
        raise ValueError("is not an elliptic-curve key on P-256, P-384 or P-521, the keys model-signing signs with; "
                         "make one with `openssl ecparam -name prime256v1 -genkey -noout -out signing-key.pem`")
    return value


def signature_path(value: str) -> str:
    """Where a model's signature sits in the repository revision, relative to its root."""
    if value.startswith(("/", "~")) or ".." in value.split("/") or "\\" in value or value.startswith(".cache/"):
        raise ValueError("names a file outside the revision; give its path relative to the revision's root, e.g. "
                         "'model.sig'")
    if value in (".staged-revision", ".cache"):
        raise ValueError("is a file the staging step writes itself; the signature's default name is 'model.sig'")
    return value


def signer_identity(value: str) -> str:
    """One name of a signing certificate: an e-mail, URI or DNS subject alternative name, or an RFC 4514 subject DN."""
    if "\n" in value or "\r" in value:
        raise ValueError("spans lines; give one name of the signing certificate, e.g. 'model-approval@hospital.example' "
                         "or 'CN=Model Approval,O=Hospital'")
    return value


def sigstore_trust_config(value: str) -> str:
    """A Sigstore client trust configuration (JSON with its trusted root), as `sigstore` and model_signing read it."""
    import json

    try:
        document = json.loads(value)
    except ValueError as error:
        raise ValueError(f"is not JSON ({error}); paste the Sigstore instance's client trust configuration "
                         "(a JSON document with `trustedRoot`) as a YAML block scalar") from None
    if not isinstance(document, dict) or not isinstance(document.get("trustedRoot"), dict):
        raise ValueError("has no `trustedRoot` object; give the client trust configuration of the Sigstore instance "
                         "that logged the signature (mediaType application/vnd.dev.sigstore.clienttrustconfig.v0.1+json)")
    return value


def pem_bundle(value: str) -> str:
    """One or more CA certificates in PEM, as the site's private CA hands them out."""
    from cryptography import x509

    if "PRIVATE KEY" in value:
        raise SecretValueError("holds a private key; a trust bundle holds only the CA certificates (-----BEGIN "
                               "CERTIFICATE-----). Rotate the key: the stack file is in version control")
    if "-----BEGIN" not in value:
        hint = " (it looks base64-encoded: decode it, `base64 -d`)" if re.fullmatch(r"[A-Za-z0-9+/=\s]+", value) else ""
        raise ValueError(f"is not PEM text{hint}; paste the CA certificates as a YAML block scalar (`trustBundle: |` "
                         "with the -----BEGIN CERTIFICATE----- lines indented below)")
    try:
        certificates = x509.load_pem_x509_certificates(value.encode())
    except ValueError as error:
        raise ValueError(f"holds no readable PEM certificate ({error}); paste the CA's .crt file as it is") from None
    not_ca = [c.subject.rfc4514_string() for c in certificates if not _is_ca(c)]
    if not_ca:
        raise ValueError(f"holds certificates that are not CAs ({', '.join(not_ca)}); give the issuing and root CAs "
                         "of the site, not a server's own certificate")
    return value


def _is_ca(certificate) -> bool:
    from cryptography import x509

    try:
        return bool(certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return certificate.issuer == certificate.subject  # an old self-signed root without the extension


PRIVATE_SUFFIXES = ("local", "internal", "lan", "corp", "home", "intranet", "private", "localdomain", "example",
                    "test", "invalid", "localhost", "home.arpa")
"""Name suffixes no public CA issues certificates for: a host under them has a certificate of the site's own CA."""


def private_host(host: str) -> bool:
    """Whether a host can only carry a certificate of a private CA (a private address or a non-public name)."""
    import ipaddress

    try:
        return not ipaddress.ip_address(host.strip("[]")).is_global
    except ValueError:
        pass
    labels = host.lower().rstrip(".").split(".")
    return len(labels) == 1 or any(".".join(labels[-len(s.split(".")):]) == s for s in PRIVATE_SUFFIXES)
