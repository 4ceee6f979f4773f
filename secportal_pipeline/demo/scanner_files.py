"""Deterministic generator of realistic Nessus v2 and Burp Suite XML exports for the demo.

A fresh clone has scanner input without any download: ``write_all`` plans a few weeks of
scans for a list of assets and writes one file per scan, byte-identical for the same
inputs.  Importing the files in ``completed_at`` order yields new, unchanged, fixed and
reopened findings per asset.

Everything derives from the seed through SHA-256 of labelled parts (``_h``/``_rng``): no
global random state, no wall clock, no locale-dependent formatting.  Content is keyed by
(seed, asset, tool, finding key) so adding an asset or a week does not change the files
already planned for the others.

Shape follows real exports (see /work/shared/samples/FORMAT_NOTES.md); every text below is
written for this project, none is copied from a vendor.

Evolution model: each (asset, tool) series numbers its scans 0, 1, 2, ... (``sequence``).
Each finding selected for an asset gets a lifecycle that depends only on that number:
``stable`` (always present), ``fixed`` (present while seq < k), ``new`` (seq >= k),
``reopened`` (present, absent for a <= seq < b, present again) or ``transient``
(present for a <= seq < b).  Every series gets at least one ``reopened`` finding.

Text realism for later tests: certificate and HTTP plugin outputs carry non-ASCII text
("Café", "日本語", "Zertifikat läuft ab"); the Burp issue "Input returned in response
(reflected)" carries spreadsheet-formula payloads in its location and evidence items; one
Burp evidence item contains "]]>" (split across two CDATA sections).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote_plus
from xml.sax.saxutils import escape, quoteattr

__all__ = [
    "BURP_ISSUES",
    "DEFAULT_ASSETS",
    "DEFAULT_FIRST_MONDAY",
    "FORMULA_PAYLOADS",
    "NESSUS_PLUGINS",
    "AssetProfile",
    "BurpIssueType",
    "BurpSpot",
    "Lifecycle",
    "NessusPlugin",
    "PlannedScan",
    "ScanItem",
    "asset_profile",
    "plan_scans",
    "render_scan",
    "scan_items",
    "write_all",
    "write_scan_file",
]

# --------------------------------------------------------------------------------------
# Catalogue: Nessus plugins
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NessusPlugin:
    plugin_id: int
    name: str
    family: str
    severity: int  # 0 info .. 4 critical (the scanner's rating)
    where: str  # services it reports on, see _WHERE
    synopsis: str
    description: str
    solution: str
    output: str = ""  # plugin_output template (str.format over the asset/scan facts); "" = none
    see_also: tuple[str, ...] = ()
    cves: tuple[str, ...] = ()
    cwes: tuple[str, ...] = ()  # as Nessus writes them: "79" or "CWE-79"
    xrefs: tuple[str, ...] = ()
    cvss2: tuple[str, str] | None = None  # ("CVSS2#AV:...", base score)
    cvss3: tuple[str, str] | None = None  # ("CVSS:3.0/AV:...", base score)
    risk_factor: str | None = None  # default: CVSS2 band, else CVSS3 band, else severity
    published: str = "2010/01/01"
    plugin_type: str = "remote"
    exploit: bool | None = None
    always: bool = False  # present on every applicable asset in every scan


_SCAN_INFO = """Information about this scan : \n
Nessus version : 10.8.3
Nessus build : 20010
Plugin feed version : {feed}
Scanner edition used : Nessus
Scanner OS : LINUX
Scanner distribution : ubuntu1404-x86-64
Scan type : Normal
Scan name : {scan_name}
Scan policy used : {policy}
Scanner IP : 192.0.2.250
Port scanner(s) : nessus_syn_scanner \nPort range : default
Ping RTT : {rtt} ms
Thorough tests : no
Experimental tests : no
Paranoia level : 1
Report verbosity : 1
Safe checks : yes
Optimize the test : yes
Credentialed checks : no
Patch management checks : None
CGI scanning : disabled
Web application tests : disabled
Max hosts : 30
Max checks : 4
Recv timeout : 5
Backports : None
Allow post-scan editing : Yes
Scan Start Date : {scan_start}
Scan duration : {duration} sec
Scan for malware : no
"""

NESSUS_PLUGINS: tuple[NessusPlugin, ...] = (
    # ---- informational (severity 0) ---------------------------------------------------
    NessusPlugin(
        19506, "Nessus Scan Information", "Settings", 0, "host",
        "This plugin displays information about the Nessus scan.",
        "This plugin reports, for each scanned host, details about the scan itself: the plugin\n"
        "feed version, the scanner edition and engine, the port scanners and port range used,\n"
        "the policy settings in effect and the scan duration.",
        "n/a", output=_SCAN_INFO, plugin_type="summary", published="2005/08/26", always=True,
    ),
    NessusPlugin(
        11219, "Nessus SYN scanner", "Port scanners", 0, "each-tcp",
        "It is possible to determine which TCP ports are open.",
        "This plugin is a SYN 'half-open' port scanner. It is reasonably quick even against a\n"
        "firewalled target. Such scans are less intrusive than TCP connect scans but may still\n"
        "cause trouble for unstable network devices.",
        "Protect your target with an IP filter.",
        output="Port {port}/tcp was found to be open", published="2009/02/04", always=True,
    ),
    NessusPlugin(
        22964, "Service Detection", "Service detection", 0, "each-tcp",
        "The remote service could be identified.",
        "Nessus was able to identify the remote service by its banner or by looking at the\n"
        "error message it sends when it receives an HTTP request.",
        "n/a", output="{service_text}", published="2007/08/19",
    ),
    NessusPlugin(
        11936, "OS Identification", "General", 0, "host",
        "It is possible to guess the remote operating system.",
        "Using a combination of remote probes (TCP/IP, SMB, HTTP, NTP, SNMP, etc.), it is\n"
        "possible to guess the name of the remote operating system in use. It is also\n"
        "possible sometimes to guess the version of the operating system.",
        "n/a", output="\nRemote operating system : {os}\nConfidence level : {os_confidence}\n"
        "Method : {os_method}\n\n \nThe remote host is running {os}",
        published="2003/12/09", plugin_type="combined", always=True,
    ),
    NessusPlugin(
        45590, "Common Platform Enumeration (CPE)", "General", 0, "host",
        "It was possible to enumerate CPE names that matched on the remote system.",
        "By using information obtained from a Nessus scan, this plugin reports CPE (Common\n"
        "Platform Enumeration) matches for the hardware and software products found on a host.",
        "n/a", output="\nThe remote operating system matched the following CPE : \n\n  {os_cpe} -> {os}\n",
        see_also=("https://nvd.nist.gov/products/cpe",), published="2010/04/21", plugin_type="combined",
    ),
    NessusPlugin(
        10287, "Traceroute Information", "General", 0, "host-udp",
        "It was possible to obtain traceroute information.",
        "Makes a traceroute to the remote host.",
        "n/a", output="For your information, here is the traceroute from 192.0.2.250 to {ip} : \n"
        "192.0.2.250\n198.51.100.1\n{ip}\n\nHop Count: 3\n",
        published="1999/11/27",
    ),
    NessusPlugin(
        10114, "ICMP Timestamp Request Remote Date Disclosure", "General", 0, "host-icmp",
        "It is possible to determine the exact time set on the remote host.",
        "The remote host answers to an ICMP timestamp request. This allows an attacker to know\n"
        "the date that is set on the targeted machine, which may assist an unauthenticated,\n"
        "remote attacker in defeating time-based authentication protocols.",
        "Filter out the ICMP timestamp requests (13), and the outgoing ICMP timestamp replies (14).",
        output="The difference between the local and remote clocks is {clock_skew} seconds.\n",
        cves=("CVE-1999-0524",), cwes=("200",), xrefs=("CWE:200",),
        cvss2=("CVSS2#AV:L/AC:L/Au:N/C:N/I:N/A:N", "0.0"), published="1999/08/01",
    ),
    NessusPlugin(
        10107, "HTTP Server Type and Version", "Web Servers", 0, "http",
        "A web server is running on the remote host.",
        "This plugin attempts to determine the type and the version of the remote web server.",
        "n/a", output="The remote web server type is :\n\n{server_banner}", published="2000/01/04",
    ),
    NessusPlugin(
        24260, "HyperText Transfer Protocol (HTTP) Information", "Web Servers", 0, "http",
        "Some information about the remote HTTP configuration can be extracted.",
        "This test gives some information about the remote HTTP protocol - the version used,\n"
        "whether HTTP Keep-Alive and HTTP pipelining are enabled, etc...\n\n"
        "This test is informational only and does not denote any security problem.",
        "n/a", output="\nResponse Code : HTTP/1.1 200 OK\n\nProtocol version : HTTP/1.1\n"
        "HTTP/2 TLS Support: No\nSSL : {ssl_yes_no}\nKeep-Alive : yes\nOptions allowed : (Not implemented)\n"
        "Headers :\n\n  Date: {http_date}\n  Server: {server_banner}\n"
        "  X-Hinweis: Zertifikat läuft ab am {cert_not_after_de} – bitte erneuern\n"
        "  Content-Language: de, ja\n  Content-Type: text/html; charset=UTF-8\n\n"
        "Response Body :\n\n<html><head><title>Kundenportal – Café Login – 日本語</title></head></html>\n",
        published="2007/01/30", always=True,
    ),
    NessusPlugin(
        10863, "SSL Certificate Information", "General", 0, "https",
        "This plugin displays the SSL certificate.",
        "This plugin connects to every SSL-related port and attempts to extract and dump the\n"
        "X.509 certificate.",
        "n/a", output="\nSubject Name: \n\nCountry: {cert_country}\nLocality: {cert_locality}\n"
        "Organization: {cert_org}\nOrganization Unit: 日本語サポート / Café IT\nCommon Name: {fqdn}\n\n"
        "Issuer Name: \n\nCountry: DE\nOrganization: Acme Café Trust Services GmbH\n"
        "Common Name: Acme Café Issuing CA G2\n\nSerial Number: {cert_serial}\n\nVersion: 3\n\n"
        "Signature Algorithm: SHA-256 With RSA Encryption\n\nNot Valid Before: {cert_not_before}\n"
        "Not Valid After: {cert_not_after}\n\nPublic Key Info:\n\nAlgorithm: RSA Encryption\n"
        "Key Length: 2048 bits\n\nExtension: Subject Alternative Name (2.5.29.17)\n"
        "Critical: 0\n  DNS: {fqdn}\n  DNS: www.{fqdn}\n",
        published="2008/05/19", always=True,
    ),
    NessusPlugin(
        56984, "SSL / TLS Versions Supported", "General", 0, "https",
        "The remote service encrypts communications.",
        "This plugin detects which SSL and TLS versions are supported by the remote service for\n"
        "encrypting communications.",
        "n/a", output="\nThis port supports {tls_versions}.\n", published="2011/12/01",
    ),
    NessusPlugin(
        21643, "SSL Cipher Suites Supported", "General", 0, "https",
        "The remote service encrypts communications using SSL.",
        "This plugin detects which SSL ciphers are supported by the remote service for\n"
        "encrypting communications.",
        "n/a", output="\nHere is the list of SSL ciphers supported by the remote server :\n"
        "Each group is reported per SSL Version.\n\nSSL Version : TLSv12\n  High Strength Ciphers (>= 112-bit key)\n\n"
        "    Name                          Code             KEX           Auth     Encryption             MAC\n"
        "    ----------------------        ----------       ---           ----     ---------------------  ---\n"
        "    ECDHE-RSA-AES128-SHA256       0xC0, 0x2F       ECDH          RSA      AES-GCM(128)           SHA256\n"
        "    ECDHE-RSA-AES256-SHA384       0xC0, 0x30       ECDH          RSA      AES-GCM(256)           SHA384\n",
        see_also=("https://www.openssl.org/docs/man1.1.1/man1/ciphers.html",), published="2006/06/05",
    ),
    NessusPlugin(
        42981, "SSL Certificate Expiry - Future Expiry", "General", 0, "https",
        "The SSL certificate associated with the remote service will expire soon.",
        "The SSL certificate associated with the remote service will expire soon.",
        "Purchase or generate a new SSL certificate in the near future to replace the existing one.",
        output="\nThe SSL certificate will expire within 60 days, at\n{cert_not_after} :\n\n"
        "  Subject          : C={cert_country}, L={cert_locality}, O={cert_org}, CN={fqdn}\n"
        "  Issuer           : C=DE, O=Acme Café Trust Services GmbH, CN=Acme Café Issuing CA G2\n"
        "  Not valid before : {cert_not_before}\n  Not valid after  : {cert_not_after}\n",
        published="2009/12/02",
    ),
    NessusPlugin(
        10881, "SSH Protocol Versions Supported", "General", 0, "ssh",
        "A SSH server is running on the remote host.",
        "This plugin determines the versions of the SSH protocol supported by the remote SSH daemon.",
        "n/a", output="\nThe remote SSH daemon supports the following versions of the\nSSH protocol :\n\n  - 1.99\n  - 2.0\n",
        published="2002/03/06",
    ),
    NessusPlugin(
        10267, "SSH Server Type and Version Information", "Service detection", 0, "ssh",
        "An SSH server is listening on this port.",
        "It is possible to obtain information about the remote SSH server by sending an empty\n"
        "authentication request.",
        "n/a", output="\n  SSH version : SSH-2.0-{openssh}\n  SSH supported authentication : publickey,password\n",
        published="1999/10/12",
    ),
    NessusPlugin(
        10884, "Network Time Protocol (NTP) Server Detection", "Service detection", 0, "ntp",
        "An NTP server is listening on the remote host.",
        "An NTP server is listening on port 123. If not securely configured, it may provide\n"
        "information about its version, current date, current time, and possibly system\n"
        "information.",
        "n/a", output="\n  Version : ntpd 4.2.8p15@1.3728-o\n", see_also=("https://www.ntp.org",),
        published="2015/03/20",
    ),
    NessusPlugin(
        10785, "Microsoft Windows SMB NativeLanManager Remote System Information Disclosure", "Windows", 0,
        "smb",
        "It was possible to obtain information about the remote operating system.",
        "Nessus was able to obtain the remote operating system name and version (Windows and/or\n"
        "Samba) by sending an authentication request to port 139 or 445.",
        "n/a", output="\nThe remote Operating System is : {os}\nThe remote native LAN manager is : {os}\n"
        "The remote SMB Domain Name is : {netbios_domain}\n",
        published="2001/10/17",
    ),
    NessusPlugin(
        10395, "Microsoft Windows SMB Shares Enumeration", "Windows", 0, "smb",
        "It is possible to enumerate remote network shares.",
        "By connecting to the remote host, Nessus was able to enumerate the network share names.",
        "n/a", output="\nHere are the SMB shares available on the remote host when logged in as a guest:\n\n"
        "  - ADMIN$\n  - C$\n  - IPC$\n  - 経理部_日本語\n  - Café-Bilder\n  - Übergabe\n",
        published="2000/05/09",
    ),
    NessusPlugin(
        11011, "Microsoft Windows SMB Service Detection", "Windows", 0, "smb",
        "A file / print sharing service is listening on the remote host.",
        "The remote service understands the CIFS (Common Internet File System) or Server\n"
        "Message Block (SMB) protocol, used to provide shared access to files, printers, etc\n"
        "between nodes on a network.",
        "n/a", output="\nA CIFS server is running on this port.\n", published="2002/06/05",
    ),
    NessusPlugin(
        66173, "RDP Screenshot", "General", 0, "rdp",
        "It is possible to take a screenshot of the remote login screen.",
        "This script attempts to connect to the remote host via RDP (Remote Desktop Protocol)\n"
        "and attempts to take a screenshot of the login screen.",
        "n/a", output="\nIt was possible to gather the following screenshot of the remote login screen.\n",
        published="2013/04/22",
    ),
    NessusPlugin(
        43111, "HTTP Methods Allowed (per directory)", "Web Servers", 0, "http",
        "This plugin determines which HTTP methods are allowed in various CGI directories.",
        "By calling the OPTIONS method, it is possible to determine which HTTP methods are\n"
        "allowed on each directory.",
        "n/a", output="\nBased on the response to an OPTIONS request :\n\n  - HTTP methods GET HEAD OPTIONS POST are allowed on :\n\n"
        "    /\n    /account\n    /static\n",
        published="2009/12/10",
    ),
    # ---- low (severity 1) -------------------------------------------------------------
    NessusPlugin(
        70658, "SSH Server CBC Mode Ciphers Enabled", "Misc.", 1, "ssh",
        "The SSH server is configured to use Cipher Block Chaining.",
        "The SSH server is configured to support Cipher Block Chaining (CBC) encryption. This\n"
        "may allow an attacker to recover the plaintext message from the ciphertext.",
        "Contact the vendor or consult product documentation to disable CBC mode cipher\n"
        "encryption, and enable CTR or GCM cipher mode encryption.",
        output="\nThe following client-to-server Cipher Block Chaining (CBC) algorithms\nare supported : \n\n"
        "  aes128-cbc\n  aes256-cbc\n",
        cves=("CVE-2008-5161",), cwes=("200",), xrefs=("CERT:958563", "CWE:200"),
        cvss2=("CVSS2#AV:N/AC:H/Au:N/C:P/I:N/A:N", "2.6"),
        cvss3=("CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:N/A:N", "3.7"), published="2013/10/28",
    ),
    NessusPlugin(
        71049, "SSH Weak MAC Algorithms Enabled", "Misc.", 1, "ssh",
        "The remote SSH server is configured to allow MD5 and 96-bit MAC algorithms.",
        "The remote SSH server is configured to allow either MD5 or 96-bit MAC algorithms, both\n"
        "of which are considered weak.",
        "Contact the vendor or consult product documentation to disable MD5 and 96-bit MAC algorithms.",
        output="\nThe following client-to-server Message Authentication Code (MAC) algorithms\nare supported : \n\n"
        "  hmac-md5\n  hmac-sha1-96\n",
        cvss2=("CVSS2#AV:N/AC:H/Au:N/C:P/I:N/A:N", "2.6"), published="2013/11/22",
    ),
    NessusPlugin(
        42057, "Web Server Allows Password Auto-Completion", "Web Servers", 1, "http",
        "The 'autocomplete' attribute is not disabled on password fields.",
        "The remote web server contains at least one HTML form field that has an input of type\n"
        "'password' where 'autocomplete' is not set to 'off'.",
        "Add the attribute 'autocomplete=off' to these fields to prevent caching of credentials.",
        output="\nPage : /login\nDestination Page : /login\nInput name : password\n",
        cwes=("CWE-522",), published="2009/10/07",
    ),
    NessusPlugin(
        30218, "Terminal Services Encryption Level is not FIPS-140 Compliant", "Misc.", 1, "rdp",
        "The remote host is not FIPS-140 compliant.",
        "The encryption setting used by the remote Terminal Services service is not FIPS-140\n"
        "compliant.",
        "Change RDP encryption level to : 4. FIPS Compliant",
        output="\nThe terminal services encryption level is set to :\n\n2. Medium (Client Compatible)\n",
        cvss2=("CVSS2#AV:N/AC:H/Au:N/C:P/I:N/A:N", "2.6"), published="2008/02/11",
    ),
    # ---- medium (severity 2) ----------------------------------------------------------
    NessusPlugin(
        51192, "SSL Certificate Cannot Be Trusted", "General", 2, "https",
        "The SSL certificate for this service cannot be trusted.",
        "The server's X.509 certificate cannot be trusted: its chain does not end in a\n"
        "recognized certificate authority, or an intermediate certificate is missing or\n"
        "expired. This makes man-in-the-middle attacks against the remote host easier.",
        "Purchase or generate a proper SSL certificate for this service.",
        output="\nThe following certificate was at the top of the certificate\nchain sent by the remote host, "
        "but it is signed by an unknown\ncertificate authority :\n\n"
        "|-Subject : C={cert_country}, O={cert_org}, CN={fqdn}\n|-Issuer  : C=DE, O=Acme Café Trust Services GmbH, "
        "CN=Acme Café Issuing CA G2\n",
        see_also=("https://www.itu.int/rec/T-REC-X.509/en", "https://en.wikipedia.org/wiki/X.509"),
        cvss2=("CVSS2#AV:N/AC:L/Au:N/C:P/I:P/A:N", "6.4"),
        cvss3=("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:L/A:N", "6.5"), published="2010/12/15",
    ),
    NessusPlugin(
        104743, "TLS Version 1.0 Protocol Detection", "Service detection", 2, "https",
        "The remote service encrypts traffic using an older version of TLS.",
        "The remote service accepts connections encrypted using TLS 1.0, which has a number of\n"
        "cryptographic design flaws. Modern implementations mitigate them, but newer versions\n"
        "of TLS are designed against these flaws and should be used whenever possible.",
        "Enable support for TLS 1.2 and 1.3, and disable support for TLS 1.0.",
        output="\nTLSv1 is enabled and the server supports at least one cipher.\n",
        see_also=("https://tools.ietf.org/html/draft-ietf-tls-oldversions-deprecate-00",),
        cwes=("CWE-327",), xrefs=("CWE:327",),
        cvss2=("CVSS2#AV:N/AC:H/Au:N/C:C/I:P/A:N", "6.1"),
        cvss3=("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:L/A:N", "6.5"), published="2017/11/22",
    ),
    NessusPlugin(
        157288, "TLS Version 1.1 Deprecated Protocol", "Service detection", 2, "https",
        "The remote service encrypts traffic using an older version of TLS.",
        "The remote service accepts connections encrypted using TLS 1.1, which lacks support for\n"
        "current and recommended cipher suites.",
        "Enable support for TLS 1.2 and/or 1.3, and disable support for TLS 1.1.",
        output="\nTLSv1.1 is enabled and the server supports at least one cipher.\n",
        see_also=("https://datatracker.ietf.org/doc/html/rfc8996",),
        cwes=("CWE-327",), xrefs=("CWE:327",),
        cvss3=("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:L/A:N", "6.5"), published="2022/04/04",
    ),
    NessusPlugin(
        65821, "SSL RC4 Cipher Suites Supported (Bar Mitzvah)", "General", 2, "https",
        "The remote service supports the use of the RC4 cipher.",
        "The remote host supports the use of RC4 in one or more cipher suites. The RC4 cipher\n"
        "is flawed in its generation of a pseudo-random stream of bytes, so that biases are\n"
        "introduced into the stream, decreasing its randomness.",
        "Reconfigure the affected application, if possible, to avoid use of RC4 ciphers.\n"
        "Consider using TLS 1.2 with AES-GCM suites subject to browser and web server support.",
        output="\nList of RC4 cipher suites supported by the remote server :\n\n  High Strength Ciphers (>= 112-bit key)\n\n"
        "    RC4-SHA                       0x00, 0x05       RSA           RSA      RC4(128)               SHA1\n",
        see_also=("https://www.rc4nomore.com/", "https://www.imperva.com/docs/HII_Attacking_SSL_when_using_RC4.pdf"),
        cves=("CVE-2013-2566", "CVE-2015-2808"), cwes=("CWE-327",),
        xrefs=("BID:58796", "BID:73684", "CEA-ID:CEA-2021-0004"),
        cvss2=("CVSS2#AV:N/AC:H/Au:N/C:P/I:N/A:N", "2.6"),
        cvss3=("CVSS:3.0/AV:N/AC:H/PR:N/UI:R/S:U/C:H/I:N/A:N", "5.3"), published="2013/04/05",
    ),
    NessusPlugin(
        84502, "HSTS Missing From HTTPS Server (RFC 6797)", "Web Servers", 2, "https",
        "The remote web server is not enforcing HSTS, as defined by RFC 6797.",
        "The remote web server is not enforcing HSTS. HSTS is an optional response header that\n"
        "can be configured on the server to instruct the browser to only communicate using\n"
        "HTTPS. The lack of HSTS allows downgrade attacks and SSL-stripping man-in-the-middle\n"
        "attacks.",
        "Configure the remote web server to use HSTS.",
        output="\n  HTTP/1.1 200 OK\n  Strict-Transport-Security header not found.\n",
        see_also=("https://tools.ietf.org/html/rfc6797",), risk_factor="Medium", published="2015/07/02",
    ),
    NessusPlugin(
        85582, "Web Application Potentially Vulnerable to Clickjacking", "Web Servers", 2, "http",
        "The remote web server may fail to mitigate a class of web application vulnerabilities.",
        "The remote web server does not set an X-Frame-Options response header or a\n"
        "Content-Security-Policy 'frame-ancestors' response header in all content responses.\n"
        "This could potentially expose the site to a clickjacking or UI redress attack.",
        "Return the X-Frame-Options or Content-Security-Policy (with the 'frame-ancestors'\n"
        "directive) HTTP header with the page's response.",
        output="\nThe following pages do not use a clickjacking mitigation response header and contain a\n"
        "clickable event :\n\n  - https://{fqdn}/account/profile\n  - https://{fqdn}/login\n",
        see_also=("https://en.wikipedia.org/wiki/Clickjacking", "https://owasp.org/www-community/attacks/Clickjacking"),
        cwes=("CWE-693",), xrefs=("CWE:693",),
        cvss2=("CVSS2#AV:N/AC:M/Au:N/C:N/I:P/A:N", "4.3"), published="2015/08/22",
    ),
    NessusPlugin(
        11213, "HTTP TRACE / TRACK Methods Allowed", "Web Servers", 2, "http",
        "Debugging functions are enabled on the remote web server.",
        "The remote web server supports the TRACE and/or TRACK methods. TRACE and TRACK are HTTP\n"
        "methods that are used to debug web server connections.",
        "Disable these HTTP methods. Refer to the plugin output for more information.",
        output="\nTo disable these methods, add the following lines for each virtual\nhost in your configuration file :\n\n"
        "    RewriteEngine on\n    RewriteCond %{{REQUEST_METHOD}} ^(TRACE|TRACK)\n    RewriteRule .* - [F]\n\n"
        "Nessus sent the following TRACE request : \n\nTRACE /Nessus{trace_id}.html HTTP/1.1\nHost: {fqdn}\n",
        see_also=("https://www.cgisecurity.com/whitehat-mirror/WH-WhitePaper_XST_ebook.pdf",),
        cves=("CVE-2003-1567", "CVE-2004-2320", "CVE-2010-0386"), cwes=("16",),
        xrefs=("CERT:288308", "CERT:867593", "CWE:16"),
        cvss2=("CVSS2#AV:N/AC:L/Au:N/C:P/I:N/A:N", "5.0"),
        cvss3=("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N", "5.3"), published="2003/01/23",
    ),
    NessusPlugin(
        90317, "SSH Weak Algorithms Supported", "Misc.", 2, "ssh",
        "The remote SSH server is configured to allow weak encryption algorithms or no algorithm at all.",
        "Nessus has detected that the remote SSH server is configured to use the Arcfour stream\n"
        "cipher or no cipher at all. RFC 4253 advises against using Arcfour due to an issue\n"
        "with weak keys.",
        "Contact the vendor or consult product documentation to remove the weak ciphers.",
        output="\nThe following weak server-to-client encryption algorithms are supported : \n\n  arcfour\n  arcfour128\n",
        see_also=("https://tools.ietf.org/html/rfc4253#section-6.3",),
        cvss2=("CVSS2#AV:N/AC:M/Au:N/C:P/I:N/A:N", "4.3"), published="2016/04/04",
    ),
    NessusPlugin(
        187315, "SSH Terrapin Prefix Truncation Weakness (CVE-2023-48795)", "Misc.", 2, "ssh",
        "The remote SSH server is vulnerable to a mitm prefix truncation attack.",
        "The remote SSH server is vulnerable to a man-in-the-middle prefix truncation weakness\n"
        "known as Terrapin. An attacker on the network path can remove messages from the start\n"
        "of the secure channel, which can lead to a downgrade of the connection's security.",
        "Upgrade the SSH server to a version that supports strict key exchange, or disable the\n"
        "affected cipher and MAC combinations.",
        output="\nSupports following Terrapin-vulnerable cipher and MAC combinations :\n  chacha20-poly1305@openssh.com\n",
        see_also=("https://terrapin-attack.com/",), cves=("CVE-2023-48795",),
        cvss2=("CVSS2#AV:N/AC:H/Au:N/C:N/I:C/A:N", "5.4"),
        cvss3=("CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:N", "5.9"), published="2023/12/21",
    ),
    NessusPlugin(
        57608, "SMB Signing not required", "Misc.", 2, "smb",
        "Signing is not required on the remote SMB server.",
        "Signing is not required on the remote SMB server. An unauthenticated, remote attacker\n"
        "can exploit this to conduct man-in-the-middle attacks against the SMB server.",
        "Enforce message signing in the host's configuration.",
        see_also=("https://learn.microsoft.com/en-us/troubleshoot/windows-server/networking/overview-server-message-block-signing",),
        cvss2=("CVSS2#AV:N/AC:L/Au:N/C:N/I:P/A:N", "5.0"),
        cvss3=("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:L/A:N", "5.3"), published="2012/01/19",
    ),
    NessusPlugin(
        58453, "Terminal Services Doesn't Use Network Level Authentication (NLA) Only", "Misc.", 2, "rdp",
        "The remote Terminal Services doesn't use Network Level Authentication only.",
        "The remote Terminal Services is not configured to use Network Level Authentication\n"
        "(NLA) only. NLA uses the Credential Security Support Provider (CredSSP) protocol to\n"
        "perform strong server authentication before a session is established.",
        "Enable Network Level Authentication (NLA) on the remote RDP server.",
        output="\nThe following Terminal Services protocol are supported : \n\n  PROTOCOL_SSL\n  PROTOCOL_HYBRID\n",
        cvss2=("CVSS2#AV:N/AC:H/Au:N/C:P/I:P/A:P", "5.1"),
        cvss3=("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:L/A:N", "6.5"), published="2012/03/23",
    ),
    NessusPlugin(
        18405, "Microsoft Windows Remote Desktop Protocol Server Man-in-the-Middle Weakness", "Windows", 2, "rdp",
        "It may be possible to get access to the remote host.",
        "The remote version of the Remote Desktop Protocol Server (Terminal Service) is\n"
        "vulnerable to a man-in-the-middle (MiTM) attack: the server does not prove its\n"
        "identity to the client, so an attacker who can intercept the traffic can read the\n"
        "session, including the keystrokes of the user logging in.",
        "Force the use of SSL as a transport layer for this service if supported, or select\n"
        "the 'Allow connections only from computers running Remote Desktop with Network Level\n"
        "Authentication' setting if it is available.",
        cves=("CVE-2005-1794",), xrefs=("CERT-CC:CA-2005-1794",),
        cvss2=("CVSS2#AV:N/AC:H/Au:N/C:P/I:P/A:P", "5.1"),
        cvss3=("CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:L/A:N", "6.5"), published="2005/06/01",
    ),
    NessusPlugin(
        57690, "Terminal Services Encryption Level is Medium or Low", "Misc.", 2, "rdp",
        "The remote host is using weak cryptography.",
        "The remote Terminal Services service is not configured to use strong cryptography.\n"
        "Using weak cryptography with this service may allow an attacker to eavesdrop on the\n"
        "communications more easily and obtain screenshots and/or keystrokes.",
        "Change RDP encryption level to one of :\n\n 3. High\n\n 4. FIPS Compliant",
        output="\nThe terminal services encryption level is set to :\n\n2. Medium (Client Compatible)\n",
        cvss2=("CVSS2#AV:N/AC:M/Au:N/C:P/I:N/A:N", "4.3"), published="2012/01/25",
    ),
    NessusPlugin(
        26920, "Microsoft Windows SMB NULL Session Authentication", "Windows", 2, "smb",
        "It is possible to log into the remote Windows host with a NULL session.",
        "The remote host is running Microsoft Windows, and it is possible to log into it using a\n"
        "NULL session (i.e., with no login or password). Depending on the configuration, an\n"
        "unauthenticated remote attacker may be able to enumerate users and shares.",
        "Restrict anonymous access: set RestrictAnonymous and RestrictNullSessAccess, and remove\n"
        "shares and pipes from the anonymous-access lists.",
        output="\nIt was possible to bind to the \\\\srvsvc pipe\n",
        cves=("CVE-1999-0519", "CVE-1999-0520", "CVE-2002-1117"), xrefs=("BID:494",),
        cvss2=("CVSS2#AV:N/AC:L/Au:N/C:P/I:N/A:N", "5.0"), published="2007/10/04",
    ),
    # ---- high (severity 3) ------------------------------------------------------------
    NessusPlugin(
        42873, "SSL Medium Strength Cipher Suites Supported (SWEET32)", "General", 3, "https",
        "The remote service supports the use of medium strength SSL ciphers.",
        "The remote host supports the use of SSL ciphers that offer medium strength encryption,\n"
        "that is, those using key lengths of at least 64 bits and less than 112 bits, or that\n"
        "use the 3DES encryption suite.",
        "Reconfigure the affected application if possible to avoid use of medium strength ciphers.",
        output="\n  Medium Strength Ciphers (> 64-bit and < 112-bit key, or 3DES)\n\n"
        "    DES-CBC3-SHA                  0x00, 0x0A       RSA           RSA      3DES-CBC(168)          SHA1\n",
        see_also=("https://sweet32.info",), cves=("CVE-2016-2183",),
        cvss2=("CVSS2#AV:N/AC:L/Au:N/C:P/I:N/A:N", "5.0"),
        cvss3=("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", "7.5"), published="2009/11/23",
    ),
    NessusPlugin(
        20007, "SSL Version 2 and 3 Protocol Detection", "Service detection", 3, "https",
        "The remote service encrypts traffic using a protocol with known weaknesses.",
        "The remote service accepts connections encrypted using SSL 2.0 and/or SSL 3.0. These\n"
        "versions of SSL are affected by several cryptographic flaws, including the POODLE\n"
        "padding oracle attack.",
        "Consult the application's documentation to disable SSL 2.0 and 3.0. Use TLS 1.2 (with\n"
        "approved cipher suites) or higher instead.",
        output="\n- SSLv3 is enabled and the server supports at least one cipher.\n",
        see_also=("https://www.openssl.org/~bodo/ssl-poodle.pdf", "https://tools.ietf.org/html/rfc7568"),
        cves=("CVE-2014-3566",), cwes=("CWE-327",), xrefs=("CERT:577193", "CWE:327"),
        cvss2=("CVSS2#AV:N/AC:M/Au:N/C:P/I:P/A:N", "5.8"),
        cvss3=("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", "7.5"), published="2005/10/12",
    ),
    NessusPlugin(
        201194, "OpenSSH < 9.8 RCE", "Misc.", 3, "ssh",
        "The SSH server running on the remote host is affected by a remote code execution vulnerability.",
        "The version of OpenSSH installed on the remote host is older than 9.8. It is therefore\n"
        "affected by a race condition in the signal handler of the server, which an\n"
        "unauthenticated remote attacker may exploit to execute code as root.",
        "Upgrade to OpenSSH version 9.8 or later.",
        output="\n  Version source    : SSH-2.0-{openssh}\n  Installed version : {openssh_version}\n  Fixed version     : 9.8p1 / 9.8\n",
        see_also=("https://www.openssh.com/txt/release-9.8",), cves=("CVE-2024-6387",), cwes=("CWE-364",),
        xrefs=("IAVA:2024-A-0375-S",),
        cvss2=("CVSS2#AV:N/AC:H/Au:N/C:C/I:C/A:C", "7.6"),
        cvss3=("CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H", "8.1"), published="2024/07/02", exploit=True,
    ),
    NessusPlugin(
        97833,
        "MS17-010: Security Update for Microsoft Windows SMB Server (4013389) (ETERNALBLUE) "
        "(ETERNALCHAMPION) (ETERNALROMANCE) (ETERNALSYNERGY) (WannaCry) (EternalRocks) (Petya) "
        "(uncredentialed check)",
        "Windows", 3, "smb",
        "The remote Windows host is affected by multiple vulnerabilities.",
        "The remote Windows host is affected by several remote code execution flaws in its\n"
        "Microsoft Server Message Block 1.0 (SMBv1) server, caused by improper handling of\n"
        "certain requests. An unauthenticated remote attacker can exploit them with a crafted\n"
        "packet to execute arbitrary code.",
        "Apply the applicable security update referenced by Microsoft bulletin MS17-010, and\n"
        "consider disabling SMBv1.",
        see_also=("https://learn.microsoft.com/en-us/security-updates/securitybulletins/2017/ms17-010",),
        cves=("CVE-2017-0143", "CVE-2017-0144", "CVE-2017-0145", "CVE-2017-0146", "CVE-2017-0147", "CVE-2017-0148"),
        xrefs=("MSFT:MS17-010", "MSKB:4012212", "MSKB:4012213", "IAVA:2017-A-0065", "CISA-KNOWN-EXPLOITED:2022/04/15"),
        cvss2=("CVSS2#AV:N/AC:M/Au:N/C:C/I:C/A:C", "9.3"),
        cvss3=("CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H", "8.1"), published="2017/03/20", exploit=True,
    ),
    # ---- critical (severity 4) --------------------------------------------------------
    NessusPlugin(
        161948, "Apache 2.4.x < 2.4.54 Multiple Vulnerabilities", "Web Servers", 4, "https",
        "The remote web server is affected by multiple vulnerabilities.",
        "The version of Apache httpd installed on the remote host is prior to 2.4.54. It is,\n"
        "therefore, affected by multiple vulnerabilities, including request smuggling in\n"
        "mod_proxy_ajp and out-of-bounds reads in mod_isapi, mod_lua and mod_sed.\n\n"
        "Note that Nessus has not tested for these issues but has instead relied only on the\n"
        "application's self-reported version number.",
        "Upgrade to Apache version 2.4.54 or later.",
        output="\n  URL               : https://{fqdn}/\n  Installed version : {apache}\n  Fixed version     : 2.4.54\n",
        see_also=("https://httpd.apache.org/security/vulnerabilities_24.html",),
        cves=("CVE-2022-26377", "CVE-2022-28330", "CVE-2022-28614", "CVE-2022-28615", "CVE-2022-29404",
              "CVE-2022-30522", "CVE-2022-30556", "CVE-2022-31813"),
        xrefs=("IAVA:2022-A-0230-S",),
        cvss2=("CVSS2#AV:N/AC:L/Au:N/C:P/I:P/A:P", "7.5"),
        cvss3=("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "9.8"), published="2022/06/08", exploit=False,
    ),
    NessusPlugin(
        156014, "Apache Log4Shell RCE detection via callback correlation (Direct Check HTTP)", "Web Servers", 4,
        "https",
        "The remote web server is affected by a remote code execution vulnerability.",
        "The remote web server is affected by a remote code execution vulnerability in the Apache\n"
        "Log4j library. Nessus was able to exploit the issue to cause the host to make a DNS\n"
        "callback to the Nessus scanner.",
        "Upgrade to Apache Log4j 2.17.1 or later, or apply the vendor mitigation.",
        output="\nNessus was able to exploit the vulnerability by sending :\n\n  GET /?x=${{jndi:ldap://log4shell-{trace_id}.callback.example/a}} HTTP/1.1\n"
        "  Host: {fqdn}\n\nand receiving a DNS callback from {ip}.\n",
        see_also=("https://logging.apache.org/log4j/2.x/security.html",),
        cves=("CVE-2021-44228",), cwes=("CWE-20", "CWE-400", "CWE-502", "CWE-917"),
        xrefs=("IAVA:2021-A-0573", "CISA-KNOWN-EXPLOITED:2021/12/24", "CEA-ID:CEA-2021-0052"),
        cvss2=("CVSS2#AV:N/AC:M/Au:N/C:C/I:C/A:C", "9.3"),
        cvss3=("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", "10.0"), published="2021/12/14", exploit=True,
    ),
    NessusPlugin(
        125313, "Microsoft RDP RCE (CVE-2019-0708) (BlueKeep) (uncredentialed check)", "Windows", 4, "rdp",
        "The remote host is affected by a remote code execution vulnerability.",
        "The remote host is affected by a remote code execution vulnerability in Remote Desktop\n"
        "Protocol (RDP). An unauthenticated, remote attacker can exploit this, via a series of\n"
        "specially crafted requests, to execute arbitrary code.",
        "Microsoft has released a set of patches for Windows XP, 2003, 2008, 7, and 2008 R2.",
        see_also=("https://msrc.microsoft.com/update-guide/vulnerability/CVE-2019-0708",),
        cves=("CVE-2019-0708",), xrefs=("MSKB:4499175", "MSFT:MS19-4499175", "CISA-KNOWN-EXPLOITED:2022/05/03"),
        cvss2=("CVSS2#AV:N/AC:L/Au:N/C:C/I:C/A:C", "10.0"),
        cvss3=("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "9.8"), published="2019/05/22", exploit=True,
    ),
)

# --------------------------------------------------------------------------------------
# Catalogue: Burp issue types
# --------------------------------------------------------------------------------------

#: Spreadsheet-formula payloads as attackers inject them; they appear in Burp findings.
FORMULA_PAYLOADS: tuple[str, ...] = (
    '=HYPERLINK("http://evil.example","x")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "-2+3",
)


@dataclass(frozen=True)
class BurpSpot:
    """One place an issue type can be reported: Burp's (path, location) plus the request."""

    path: str
    location: str
    param: str = ""
    method: str = "GET"
    value: str = "test"  # submitted parameter value (the payload)
    evidence: tuple[str, ...] = ()  # issueDetailItems


@dataclass(frozen=True)
class BurpIssueType:
    type_id: int
    name: str
    severity: str  # High | Medium | Low | Information
    confidence: str  # Certain | Firm | Tentative
    background: str  # issueBackground HTML
    remediation: str  # remediationBackground HTML
    detail: str  # issueDetail HTML template: {param} {host} {value}
    cwes: tuple[tuple[int, str], ...]
    references: tuple[tuple[str, str], ...]
    spots: tuple[BurpSpot, ...]
    status: int = 200  # HTTP status of the recorded response
    always: bool = False


_XSS = "lq4kc<script>alert(1)</script>x9d2p"

BURP_ISSUES: tuple[BurpIssueType, ...] = (
    BurpIssueType(
        1049088, "SQL injection", "High", "Firm",
        "<p>SQL injection vulnerabilities arise when user-controllable data is incorporated into "
        "database SQL queries in an unsafe manner. An attacker can supply crafted input to break out of "
        "the data context in which their input appears and interfere with the structure of the "
        "surrounding query.</p>",
        "<p>The most effective way to prevent SQL injection is to use parameterized queries (also known "
        "as prepared statements) for all database access.</p>",
        "The <b>{param}</b> parameter appears to be vulnerable to SQL injection attacks. A single quote "
        "was submitted in the {param} parameter, and a database error message was returned. Two single "
        "quotes were then submitted and the error message disappeared.",
        ((89, "Improper Neutralization of Special Elements used in an SQL Command ('SQL Injection')"),
         (94, "Improper Control of Generation of Code ('Code Injection')"),
         (116, "Improper Encoding or Escaping of Output")),
        (("https://portswigger.net/web-security/sql-injection", "Web Security Academy: SQL injection"),),
        (BurpSpot("/search", "/search [q parameter]", "q", "GET", "shoes'"),
         BurpSpot("/api/v1/orders", "/api/v1/orders [id parameter]", "id", "GET", "1042'"),
         BurpSpot("/login", "/login [username parameter]", "username", "POST", "alice'")),
        status=500,
    ),
    BurpIssueType(
        2097920, "Cross-site scripting (reflected)", "High", "Certain",
        "<p>Reflected cross-site scripting vulnerabilities arise when data is copied from a request and "
        "echoed into the application's immediate response in an unsafe way. An attacker can use the "
        "vulnerability to construct a request that, if issued by another user, will cause JavaScript "
        "code supplied by the attacker to execute within the user's browser.</p>",
        "<p>Validate input as strictly as possible on arrival, and HTML-encode user input at any point "
        "where it is copied into application responses.</p>",
        "The value of the <b>{param}</b> request parameter is copied into the HTML document as plain "
        "text between tags. The payload <b>lq4kc&lt;script&gt;alert(1)&lt;/script&gt;x9d2p</b> was "
        "submitted in the {param} parameter. This input was echoed unmodified in the application's response.",
        ((79, "Improper Neutralization of Input During Web Page Generation ('Cross-site Scripting')"),
         (80, "Improper Neutralization of Script-Related HTML Tags in a Web Page (Basic XSS)"),
         (116, "Improper Encoding or Escaping of Output"),
         (159, "Failure to Sanitize Special Element")),
        (("https://portswigger.net/web-security/cross-site-scripting", "Cross-site scripting"),),
        (BurpSpot("/search", "/search [q parameter]", "q", "GET", _XSS,
                  evidence=(_XSS, '"]]><script>alert(document.domain)</script>')),
         BurpSpot("/account/profile", "/account/profile [display_name parameter]", "display_name", "POST", _XSS)),
    ),
    BurpIssueType(
        2098944, "Cross-site request forgery", "Medium", "Tentative",
        "<p>Cross-site request forgery (CSRF) vulnerabilities may arise when applications rely solely on "
        "HTTP cookies to identify the user that has issued a particular request.</p>",
        "<p>Include an unpredictable anti-CSRF token in every request that performs a state-changing "
        "action, and validate it on the server.</p>",
        "The request to <b>{path}</b> appears to be vulnerable to cross-site request forgery (CSRF) "
        "attacks against authenticated users.",
        ((352, "Cross-Site Request Forgery (CSRF)"),),
        (("https://portswigger.net/web-security/csrf", "Cross-site request forgery"),),
        (BurpSpot("/account/profile", "/account/profile", "display_name", "POST", "Alice"),
         BurpSpot("/feedback", "/feedback", "comment", "POST", "Great service")),
    ),
    BurpIssueType(
        5244416, "Cookie without HttpOnly flag set", "Low", "Firm",
        "<p>If the HttpOnly attribute is set on a cookie, then the cookie's value cannot be read or set "
        "by client-side JavaScript. This measure makes some client-side attacks, such as cross-site "
        "scripting, slightly harder to exploit.</p>",
        "<p>There is usually no good reason not to set the HttpOnly flag on all cookies.</p>",
        "The following cookie was issued by the application and does not have the HttpOnly flag set:"
        "<ul><li>tracking_id</li></ul>",
        ((16, "Configuration"), (1004, "Sensitive Cookie Without 'HttpOnly' Flag")),
        (("https://portswigger.net/web-security/cross-site-scripting/exploiting", "Exploiting XSS vulnerabilities"),),
        (BurpSpot("/", "/"), BurpSpot("/login", "/login")),
    ),
    BurpIssueType(
        5243392, "SSL cookie without secure flag set", "Medium", "Firm",
        "<p>If the secure flag is set on a cookie, then browsers will not submit the cookie in any "
        "requests that use an unencrypted HTTP connection.</p>",
        "<p>The secure flag should be set on all cookies that are used for transmitting sensitive data "
        "when accessing content over HTTPS.</p>",
        "The following cookie was issued by the application and does not have the secure flag set:"
        "<ul><li>session</li></ul>",
        ((614, "Sensitive Cookie in HTTPS Session Without 'Secure' Attribute"),),
        (),
        (BurpSpot("/login", "/login"),),
    ),
    BurpIssueType(
        16777472, "SSL certificate", "Medium", "Certain",
        "<p>SSL helps to protect the confidentiality and integrity of information in transit. To be "
        "effective, the server certificate must be valid for the domain, unexpired, and issued by a "
        "trusted authority.</p>",
        "<p>Obtain a certificate from a trusted certificate authority and ensure that the whole chain "
        "is served.</p>",
        "The server presented an invalid SSL certificate. The issuer <b>Acme Caf\u00e9 Issuing CA G2</b> "
        "is not a recognized certificate authority.",
        ((295, "Improper Certificate Validation"), (326, "Inadequate Encryption Strength"),
         (327, "Use of a Broken or Risky Cryptographic Algorithm")),
        (("https://wiki.mozilla.org/Security/Server_Side_TLS", "Mozilla Server Side TLS"),),
        (BurpSpot("/", "/"),),
    ),
    BurpIssueType(
        16777984, "Strict transport security not enforced", "Low", "Certain",
        "<p>The application fails to prevent users from connecting to it over unencrypted "
        "connections. An attacker able to modify a legitimate user's network traffic could bypass the "
        "application's use of SSL/TLS encryption.</p>",
        "<p>The application should instruct web browsers to only access the application using HTTPS, "
        "by adding a Strict-Transport-Security header to all responses.</p>",
        "",
        ((523, "Unprotected Transport of Credentials"),),
        (("https://datatracker.ietf.org/doc/html/rfc6797", "RFC 6797: HTTP Strict Transport Security"),),
        (BurpSpot("/", "/"),),
    ),
    BurpIssueType(
        5245344, "Frameable response (potential Clickjacking)", "Information", "Firm",
        "<p>If a page fails to set an appropriate X-Frame-Options or Content-Security-Policy HTTP "
        "header, it might be possible for a page controlled by an attacker to load it within an "
        "iframe.</p>",
        "<p>Set the Content-Security-Policy frame-ancestors directive, or the X-Frame-Options header, "
        "on all responses.</p>",
        "",
        ((693, "Protection Mechanism Failure"), (1021, "Improper Restriction of Rendered UI Layers or Frames")),
        (("https://portswigger.net/web-security/clickjacking", "Clickjacking"),),
        (BurpSpot("/", "/"), BurpSpot("/account/profile", "/account/profile"), BurpSpot("/login", "/login")),
    ),
    BurpIssueType(
        6291968, "Email addresses disclosed", "Information", "Certain",
        "<p>The presence of email addresses within application responses does not necessarily "
        "constitute a security vulnerability, but they may be used by attackers for phishing.</p>",
        "<p>Consider removing any email addresses that are unnecessary.</p>",
        "The following email addresses were disclosed in the response:<ul><li>j\u00fcrgen.m\u00fcller@{host}</li>"
        "<li>helpdesk@{host}</li></ul>",
        ((200, "Information Exposure"),),
        (),
        (BurpSpot("/contact", "/contact"), BurpSpot("/static/app.js", "/static/app.js")),
    ),
    BurpIssueType(
        7340288, "Cacheable HTTPS response", "Information", "Certain",
        "<p>Unless directed otherwise, browsers may store a local cached copy of content received from "
        "web servers. If sensitive information is cached, it may be retrieved by other users of the "
        "same computer.</p>",
        "<p>Return caching directives instructing browsers not to store local copies of sensitive "
        "data, for example <code>Cache-control: no-store</code>.</p>",
        "",
        ((524, "Information Exposure Through Caching"), (525, "Information Exposure Through Browser Caching")),
        (),
        (BurpSpot("/account/profile", "/account/profile"), BurpSpot("/api/v1/orders", "/api/v1/orders")),
    ),
    BurpIssueType(
        5244928, "Password field with autocomplete enabled", "Low", "Certain",
        "<p>Most browsers have a facility to remember user credentials that are entered into HTML "
        "forms. If the function is enabled, credentials may be stored on the local computer.</p>",
        "<p>Prevent browsers from storing credentials by setting autocomplete=\"off\" on the form or "
        "on the password field.</p>",
        "The page contains a form with the following action URL:<ul><li>https://{host}/login</li></ul>"
        "The form contains the following password field with autocomplete enabled:<ul><li>password</li></ul>",
        ((522, "Insufficiently Protected Credentials"),),
        (),
        (BurpSpot("/login", "/login"),),
    ),
    BurpIssueType(
        4197376, "Input returned in response (reflected)", "Information", "Certain",
        "<p>Reflection of input arises when data is copied from a request and echoed into the "
        "application's immediate response. It is not necessarily a vulnerability, but data reflected "
        "unfiltered may end up in exports and spreadsheets downstream.</p>",
        "<p>Validate and encode input where it is reflected, and neutralise values that start with "
        "=, +, - or @ before they are written to CSV or spreadsheet files.</p>",
        "The value of the <b>{param}</b> request parameter is copied into the application's response. "
        "The submitted value was: <b>{value}</b>",
        ((20, "Improper Input Validation"), (1236, "Improper Neutralization of Formula Elements in a CSV File"),
         (116, "Improper Encoding or Escaping of Output")),
        (("https://owasp.org/www-community/attacks/CSV_Injection", "OWASP: CSV Injection"),),
        (BurpSpot("/feedback", "/feedback [comment parameter]", "comment", "POST", FORMULA_PAYLOADS[0],
                  evidence=FORMULA_PAYLOADS),
         BurpSpot("/feedback", f"/feedback [{FORMULA_PAYLOADS[0]} parameter]", FORMULA_PAYLOADS[0], "POST",
                  FORMULA_PAYLOADS[1], evidence=(FORMULA_PAYLOADS[1], FORMULA_PAYLOADS[2])),
         BurpSpot("/search", "/search [ref parameter]", "ref", "GET", FORMULA_PAYLOADS[3],
                  evidence=(FORMULA_PAYLOADS[3], '"]]><img src=x onerror=alert(1)>'))),
        always=True,
    ),
    BurpIssueType(
        134217728, "Lack or Misconfiguration of Security Header(s)", "Low", "Certain",
        "<p>This issue was generated by a Burp extension. Security headers instruct the browser to "
        "enable protections such as content sniffing prevention and a content security policy.</p>",
        "<p>Set X-Content-Type-Options: nosniff, a restrictive Content-Security-Policy and a "
        "Referrer-Policy on all responses.</p>",
        "The following security headers are missing or misconfigured:<ul><li>X-Content-Type-Options</li>"
        "<li>Content-Security-Policy</li><li>Referrer-Policy</li></ul>",
        ((693, "Protection Mechanism Failure"),),
        (("https://owasp.org/www-project-secure-headers/", "OWASP Secure Headers Project"),),
        (BurpSpot("/", "/"), BurpSpot("/login", "/login")),
    ),
)

# Burp's internal DTD (element and attribute-list declarations only; no entities).
_BURP_DTD = """<!DOCTYPE issues [
<!ELEMENT issues (issue*)>
<!ATTLIST issues burpVersion CDATA "">
<!ATTLIST issues exportTime CDATA "">
<!ELEMENT issue (serialNumber, type, name, host, path, location, severity, confidence, issueBackground?, remediationBackground?, references?, vulnerabilityClassifications?, issueDetail?, issueDetailItems?, remediationDetail?, requestresponse*, collaboratorEvent*, infiltratorEvent*, staticAnalysis*, dynamicAnalysis*)>
<!ELEMENT serialNumber (#PCDATA)>
<!ELEMENT type (#PCDATA)>
<!ELEMENT name (#PCDATA)>
<!ELEMENT host (#PCDATA)>
<!ATTLIST host ip CDATA "">
<!ELEMENT path (#PCDATA)>
<!ELEMENT location (#PCDATA)>
<!ELEMENT severity (#PCDATA)>
<!ELEMENT confidence (#PCDATA)>
<!ELEMENT issueBackground (#PCDATA)>
<!ELEMENT remediationBackground (#PCDATA)>
<!ELEMENT references (#PCDATA)>
<!ELEMENT vulnerabilityClassifications (#PCDATA)>
<!ELEMENT issueDetail (#PCDATA)>
<!ELEMENT issueDetailItems (issueDetailItem*)>
<!ELEMENT issueDetailItem (#PCDATA)>
<!ELEMENT remediationDetail (#PCDATA)>
<!ELEMENT requestresponse (request?, response?, responseRedirected?)>
<!ELEMENT request (#PCDATA)>
<!ATTLIST request method CDATA "">
<!ATTLIST request base64 (true|false) "false">
<!ELEMENT response (#PCDATA)>
<!ATTLIST response base64 (true|false) "false">
<!ELEMENT responseRedirected (#PCDATA)>
<!ELEMENT collaboratorEvent (interactionType, originIp, time, lookupType?, lookupHost?, requestresponse?)>
<!ELEMENT interactionType (#PCDATA)>
<!ELEMENT originIp (#PCDATA)>
<!ELEMENT time (#PCDATA)>
<!ELEMENT lookupType (#PCDATA)>
<!ELEMENT lookupHost (#PCDATA)>
<!ELEMENT infiltratorEvent (parameterName, platform, signature, stackTrace?, parameterValue?, collaboratorEvent)>
<!ELEMENT parameterName (#PCDATA)>
<!ELEMENT platform (#PCDATA)>
<!ELEMENT signature (#PCDATA)>
<!ELEMENT stackTrace (#PCDATA)>
<!ELEMENT parameterValue (#PCDATA)>
<!ELEMENT staticAnalysis (source, sink, codeSnippets)>
<!ELEMENT dynamicAnalysis (source, sink, sourceValue, sinkValue, poc, origin)>
<!ELEMENT source (#PCDATA)>
<!ELEMENT sink (#PCDATA)>
<!ELEMENT sourceValue (#PCDATA)>
<!ELEMENT sinkValue (#PCDATA)>
<!ELEMENT poc (#PCDATA)>
<!ELEMENT origin (#PCDATA)>
<!ELEMENT codeSnippets (codeSnippet*)>
<!ELEMENT codeSnippet (#PCDATA)>
]>"""

BURP_VERSION = "2025.8.4"
# Share of applicable catalogue entries an asset shows at some point (per entry, per asset).
PICK_INFO, PICK_VULN, PICK_BURP = 0.55, 0.65, 0.6
NESSUS_POLICY = "Basic Network Scan"

# Asset profiles: operating systems (name, CPE) and software versions picked per asset.
_WINDOWS = (
    ("Microsoft Windows Server 2019 Standard", "cpe:/o:microsoft:windows_server_2019"),
    ("Microsoft Windows Server 2022 Standard", "cpe:/o:microsoft:windows_server_2022"),
    ("Microsoft Windows Server 2016 Datacenter", "cpe:/o:microsoft:windows_server_2016"),
)
_LINUX = (
    ("Linux Kernel 5.15.0-91-generic on Ubuntu 22.04", "cpe:/o:canonical:ubuntu_linux:22.04"),
    ("Linux Kernel 4.18.0-513.el8 on Red Hat Enterprise Linux 8", "cpe:/o:redhat:enterprise_linux:8"),
    ("Linux Kernel 6.1.0-18-amd64 on Debian 12 (bookworm)", "cpe:/o:debian:debian_linux:12"),
)
_OPENSSH = ("OpenSSH_8.2p1 Ubuntu-4ubuntu0.9", "OpenSSH_8.9p1 Ubuntu-3ubuntu0.6", "OpenSSH_9.2p1 Debian-2+deb12u2")
_APACHE = ("2.4.41", "2.4.49", "2.4.52")
_CERT_SUBJECTS = (("DE", "München", "Acme Café Betriebs GmbH"), ("JP", "東京", "Acme 日本語 KK"),
                  ("DE", "Köln", "Müller & Söhne AG"))
_SERVICE_TEXT = {
    "www": "A web server is running on this port.",
    "ssh": "An SSH server is running on this port.",
    "cifs": "A CIFS server is running on this port.",
    "smb": "An SMB server is running on this port.",
    "epmap": "A DCE/RPC endpoint mapper is running on this port.",
    "msrdp": "A Terminal Services server is running on this port.",
}
_ASSET_KINDS = ("host", "web")
_WINDOWS_HINTS = ("dc", "ad", "win", "files", "fs", "exch", "rds")  # host names that read as Windows
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

#: A small demo estate (asset_ref, kind); the demo may use its own.
DEFAULT_ASSETS: tuple[tuple[str, str], ...] = (
    ("portal.acme-corp.example", "web"),
    ("shop.acme-corp.example", "web"),
    ("api.acme-corp.example", "web"),
    ("vpn.acme-corp.example", "host"),
    ("mail.acme-corp.example", "host"),
    ("dc01.corp.acme-corp.example", "host"),
    ("files.corp.acme-corp.example", "host"),
    ("build.acme-corp.example", "host"),
)
DEFAULT_FIRST_MONDAY = date(2026, 9, 7)

# --------------------------------------------------------------------------------------
# Deterministic randomness
# --------------------------------------------------------------------------------------


def _h(*parts: object) -> int:
    """A stable 64-bit integer from labelled parts (independent of PYTHONHASHSEED)."""
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def _rng(*parts: object) -> random.Random:
    return random.Random(_h(*parts))


# --------------------------------------------------------------------------------------
# Planning
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedScan:
    tool: str  # "nessus" or "burp"
    asset_ref: str  # lower-case host name
    started_at: datetime  # tz-aware UTC
    completed_at: datetime
    file_name: str
    asset_kind: str = "host"  # "host" or "web" (drives the services the asset exposes)
    sequence: int = 0  # 0-based index of this scan within its (asset, tool) series
    host_ip: str = ""  # RFC 5737 address; "" = derived from the asset name


def _check_assets(assets: Sequence[tuple[str, str]]) -> None:
    seen: set[str] = set()
    for ref, kind in assets:
        if kind not in _ASSET_KINDS:
            raise ValueError(f"asset {ref!r}: kind must be 'host' or 'web', not {kind!r}")
        if not ref or ref != ref.lower() or not all(c.isalnum() or c in ".-" for c in ref):
            raise ValueError(f"asset_ref must be a lower-case host name, not {ref!r}")
        if ref in seen:
            raise ValueError(f"asset {ref!r} listed twice")
        seen.add(ref)


def _plan_ip(index: int) -> str:
    nets = ("192.0.2", "198.51.100", "203.0.113")
    return f"{nets[index % 3]}.{10 + index // 3}"


def _derived_ip(asset_ref: str) -> str:
    n = _h("ip", asset_ref)
    return f"{('192.0.2', '198.51.100', '203.0.113')[n % 3]}.{100 + (n >> 8) % 150}"


def _series(
    tool: str, ref: str, kind: str, ip: str, first_monday: date, weeks: int, seed: int,
    gaps: tuple[int, ...], first_week_max: int,
) -> list[PlannedScan]:
    rng = _rng(seed, "plan", ref, tool)
    scans: list[PlannedScan] = []
    week = rng.randint(0, first_week_max)
    while week < weeks:
        day = first_monday + timedelta(weeks=week, days=rng.choice((0, 1, 1, 2, 2, 3, 3, 4)))
        start = datetime.combine(day, time(rng.randint(8, 15), rng.choice((0, 15, 30, 45)), rng.randint(0, 59)), UTC)
        end = start + timedelta(seconds=rng.randint(20 * 60, 180 * 60))
        ext = "nessus" if tool == "nessus" else "xml"
        name = f"{day.isoformat()}_{tool}_{ref}.{ext}"
        scans.append(PlannedScan(tool, ref, start, end, name, kind, len(scans), ip))
        week += rng.choice(gaps)
    return scans


def plan_scans(assets: Sequence[tuple[str, str]], first_monday: date, weeks: int, seed: int) -> list[PlannedScan]:
    """Plan scans for ``weeks`` weeks from ``first_monday``, sorted by completion time.

    Host assets get a Nessus scan every 1-2 weeks.  Web assets get a Burp scan every
    1-2 weeks and, for about two thirds of them, a Nessus scan every 2-3 weeks.  Scans start
    in working hours (Mon-Fri 08:00-16:00 UTC) and last 20 minutes to 3 hours.
    """
    if first_monday.weekday() != 0:
        raise ValueError(f"first_monday {first_monday} is not a Monday")
    if weeks < 0:
        raise ValueError("weeks must be >= 0")
    _check_assets(assets)
    scans: list[PlannedScan] = []
    for index, (ref, kind) in enumerate(assets):
        ip = _plan_ip(index)
        if kind == "host":
            scans += _series("nessus", ref, kind, ip, first_monday, weeks, seed, (1, 1, 2), 1)
        else:
            scans += _series("burp", ref, kind, ip, first_monday, weeks, seed, (1, 1, 2), 1)
            if _rng(seed, "web-nessus", ref).random() < 0.67:
                scans += _series("nessus", ref, kind, ip, first_monday, weeks, seed, (2, 3), 2)
    return sorted(scans, key=lambda s: (s.completed_at, s.file_name))


# --------------------------------------------------------------------------------------
# Asset profiles
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AssetProfile:
    asset_ref: str
    kind: str
    ip: str
    os_family: str  # "windows" | "linux"
    os_name: str
    os_cpe: str
    tcp: tuple[tuple[int, str], ...]  # open TCP (port, svc_name)
    udp: tuple[tuple[int, str], ...]
    openssh: str
    apache: str
    cert: tuple[str, str, str]  # (country, locality, organisation)
    cert_phase: int  # days: the asset's 90-day certificate rotation offset


def asset_profile(asset_ref: str, kind: str, seed: int, ip: str = "") -> AssetProfile:
    """What an asset runs: OS, open services and software versions, stable for a seed."""
    rng = _rng(seed, "profile", asset_ref)
    hinted = asset_ref.split(".")[0].rstrip("0123456789-").startswith(_WINDOWS_HINTS)
    windows = kind == "host" and (rng.random() < 0.5 or hinted)
    os_name, os_cpe = rng.choice(_WINDOWS if windows else _LINUX)
    if windows:
        tcp = [(135, "epmap"), (139, "smb"), (445, "cifs"), (3389, "msrdp")]
        if rng.random() < 0.35:
            tcp.append((443, "www"))
        udp: list[tuple[int, str]] = []
    elif kind == "web":
        tcp = ([(22, "ssh")] if rng.random() < 0.5 else []) + [(80, "www"), (443, "www")]
        udp = []
    else:
        tcp = [(22, "ssh")] + ([(443, "www")] if rng.random() < 0.5 else [])
        udp = [(123, "ntp")] if rng.random() < 0.5 else []
    return AssetProfile(
        asset_ref, kind, ip or _derived_ip(asset_ref), "windows" if windows else "linux", os_name, os_cpe,
        tuple(sorted(tcp)), tuple(udp), rng.choice(_OPENSSH), rng.choice(_APACHE), rng.choice(_CERT_SUBJECTS),
        rng.randint(0, 89),
    )


_WHERE = {
    "host": lambda p: [(0, "general", "tcp")],
    "host-udp": lambda p: [(0, "general", "udp")],
    "host-icmp": lambda p: [(0, "general", "icmp")],
    "each-tcp": lambda p: [(port, svc, "tcp") for port, svc in p.tcp],
    "http": lambda p: [(port, svc, "tcp") for port, svc in p.tcp if svc == "www"][-1:],  # prefer 443
    "https": lambda p: [(port, svc, "tcp") for port, svc in p.tcp if port == 443],
    "ssh": lambda p: [(port, svc, "tcp") for port, svc in p.tcp if svc == "ssh"],
    "smb": lambda p: [(port, svc, "tcp") for port, svc in p.tcp if port == 445],
    "rdp": lambda p: [(port, svc, "tcp") for port, svc in p.tcp if svc == "msrdp"],
    "ntp": lambda p: [(port, svc, "udp") for port, svc in p.udp if svc == "ntp"],
}

# --------------------------------------------------------------------------------------
# Findings per scan (selection + lifecycle)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lifecycle:
    """When a finding is present, by scan sequence number within its (asset, tool) series."""

    kind: str  # stable | fixed | new | reopened | transient
    a: int = 0
    b: int = 0

    def present(self, seq: int) -> bool:
        if self.kind == "fixed":  # present while seq < a
            return seq < self.a
        if self.kind == "new":  # present from seq a on
            return seq >= self.a
        if self.kind == "reopened":  # gone for a <= seq < b, then back
            return not self.a <= seq < self.b
        if self.kind == "transient":  # only for a <= seq < b
            return self.a <= seq < self.b
        return True


STABLE = Lifecycle("stable")


@dataclass(frozen=True)
class ScanItem:
    """One finding a scan reports: a Nessus ReportItem or a Burp issue."""

    key: tuple[object, ...]  # nessus: (pluginID, port, protocol); burp: (type, path, location)
    rule_id: int  # pluginID or Burp issue type
    severity: str  # as the tool writes it: "0".."4" or High|Medium|Low|Information
    lifecycle: Lifecycle
    plugin: NessusPlugin | None = None
    port: int = 0
    svc_name: str = ""
    protocol: str = ""
    issue: BurpIssueType | None = None
    spot: BurpSpot | None = None

    @property
    def always(self) -> bool:
        return bool((self.plugin and self.plugin.always) or (self.issue and self.issue.always))

    @property
    def informational(self) -> bool:
        return self.severity in ("0", "Information")


def _pick_lifecycle(rng: random.Random, informational: bool) -> Lifecycle:
    weights = (70, 10, 10, 10, 0) if informational else (30, 25, 20, 15, 10)
    kind = rng.choices(("stable", "fixed", "new", "reopened", "transient"), weights)[0]
    if kind in ("fixed", "new"):
        return Lifecycle(kind, rng.randint(1, 5))
    if kind == "reopened":
        a = rng.randint(1, 3)
        return Lifecycle(kind, a, a + rng.randint(1, 2))
    if kind == "transient":
        a = rng.randint(1, 4)
        return Lifecycle(kind, a, a + rng.randint(1, 3))
    return STABLE


def _candidates(scan: PlannedScan, profile: AssetProfile, seed: int) -> list[ScanItem]:
    """Every finding this asset can show in this tool's series, with its lifecycle."""
    items: list[ScanItem] = []
    if scan.tool == "nessus":
        for plugin in NESSUS_PLUGINS:
            places = _WHERE[plugin.where](profile)
            rng = _rng(seed, "select", scan.asset_ref, "nessus", plugin.plugin_id)
            if not places or not (plugin.always or rng.random() < (PICK_INFO if plugin.severity == 0 else PICK_VULN)):
                continue
            for port, svc, proto in places:
                key = (plugin.plugin_id, port, proto)
                life = STABLE if plugin.always else _pick_lifecycle(
                    _rng(seed, "life", scan.asset_ref, "nessus", *key), plugin.severity == 0)
                items.append(ScanItem(key, plugin.plugin_id, str(plugin.severity), life, plugin=plugin,
                                      port=port, svc_name=svc, protocol=proto))
    elif scan.tool == "burp":
        for issue in BURP_ISSUES:
            rng = _rng(seed, "select", scan.asset_ref, "burp", issue.type_id)
            if issue.always:
                spots = list(issue.spots)
            elif rng.random() < PICK_BURP:
                spots = sorted(rng.sample(issue.spots, rng.randint(1, len(issue.spots))), key=issue.spots.index)
            else:
                continue
            for spot in spots:
                key = (issue.type_id, spot.path, spot.location)
                life = STABLE if issue.always else _pick_lifecycle(
                    _rng(seed, "life", scan.asset_ref, "burp", *key), issue.severity == "Information")
                items.append(ScanItem(key, issue.type_id, issue.severity, life, issue=issue, spot=spot))
    else:
        raise ValueError(f"unknown tool {scan.tool!r}")
    return _force_reopened(items, scan, seed)


def _force_reopened(items: list[ScanItem], scan: PlannedScan, seed: int) -> list[ScanItem]:
    """Guarantee one early reopen per series: gone at seq a (1 or 2), back at seq a+1."""
    pool = [i for i, it in enumerate(items) if not it.always and not it.informational]
    pool = pool or [i for i, it in enumerate(items) if not it.always]
    if not pool:
        return items
    chosen = min(pool, key=lambda i: _h(seed, "reopen", scan.asset_ref, scan.tool, *items[i].key))
    a = 1 + _h(seed, "reopen-at", scan.asset_ref, scan.tool) % 2
    items[chosen] = replace(items[chosen], lifecycle=Lifecycle("reopened", a, a + 1))
    return items


def scan_items(scan: PlannedScan, seed: int) -> list[ScanItem]:
    """The findings ``scan`` reports, in file order (what ``write_scan_file`` writes)."""
    profile = asset_profile(scan.asset_ref, scan.asset_kind, seed, scan.host_ip)
    return [it for it in _candidates(scan, profile, seed) if it.lifecycle.present(scan.sequence)]


# --------------------------------------------------------------------------------------
# Formatting helpers
# --------------------------------------------------------------------------------------


def _nessus_time(dt: datetime) -> str:
    """'Mon Sep 07 10:00:00 2026' without depending on the locale."""
    return f"{_DAYS[dt.weekday()]} {_MONTHS[dt.month - 1]} {dt:%d %H:%M:%S %Y}"


def _burp_time(dt: datetime) -> str:
    """'Mon Sep 07 14:00:00 UTC 2026'."""
    return f"{_DAYS[dt.weekday()]} {_MONTHS[dt.month - 1]} {dt:%d %H:%M:%S} UTC {dt.year}"


def _http_date(dt: datetime) -> str:
    return f"{_DAYS[dt.weekday()]}, {dt:%d} {_MONTHS[dt.month - 1]} {dt:%Y %H:%M:%S} GMT"


def _cert_time(d: date) -> str:
    return f"{_MONTHS[d.month - 1]} {d.day:2d} 00:00:00 {d.year} GMT"


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _el(tag: str, text: str) -> str:
    return f"<{tag}>{escape(text)}</{tag}>"


def _band(score: str, *, cvss2: bool = False) -> str:
    """Risk word for a base score; CVSS2 (Nessus' risk_factor) only says Critical at 10.0."""
    value = Decimal(score)
    if value == 0:
        return "None"
    if value < 4:
        return "Low"
    if value < 7:
        return "Medium"
    if value < (10 if cvss2 else 9):
        return "High"
    return "Critical"


def _risk_factor(plugin: NessusPlugin) -> str:
    """Nessus writes a CVSS2-based risk_factor when there is a CVSS2 score."""
    if plugin.risk_factor:
        return plugin.risk_factor
    if plugin.cvss2:
        return _band(plugin.cvss2[1], cvss2=True)
    if plugin.cvss3:
        return _band(plugin.cvss3[1])
    return ("None", "Low", "Medium", "High", "Critical")[plugin.severity]


def _facts(scan: PlannedScan, profile: AssetProfile, seed: int, port: int = 0, svc: str = "") -> dict[str, str]:
    """Values plugin_output templates may use."""
    rng = _rng(seed, "facts", scan.file_name)
    epoch = date(2020, 1, 1) + timedelta(days=profile.cert_phase)
    not_before = epoch + timedelta(days=90 * ((scan.started_at.date() - epoch).days // 90))
    not_after = not_before + timedelta(days=90)
    duration = int((scan.completed_at - scan.started_at).total_seconds())
    return {
        "fqdn": profile.asset_ref,
        "ip": profile.ip,
        "os": profile.os_name,
        "os_cpe": profile.os_cpe,
        "os_confidence": "95" if profile.os_family == "windows" else "65",
        "os_method": "MSRPC" if profile.os_family == "windows" else "SinFP",
        "port": str(port),
        "service_text": _SERVICE_TEXT.get(svc, "A service is running on this port."),
        "scan_name": f"Weekly network scan - {profile.asset_ref}",
        "policy": NESSUS_POLICY,
        "feed": f"{scan.started_at:%Y%m%d}0215",
        "rtt": f"{rng.uniform(0.4, 40.0):.3f}",
        "scan_start": f"{scan.started_at.year}/{scan.started_at.month}/{scan.started_at.day} "
                      f"{scan.started_at:%H:%M} UTC",
        "duration": str(duration),
        "clock_skew": str(rng.randint(-3, 3)),
        "http_date": _http_date(scan.started_at + timedelta(seconds=rng.randint(60, 600))),
        "server_banner": f"Apache/{profile.apache} (Unix) OpenSSL/1.1.1w",
        "ssl_yes_no": "yes",
        "apache": profile.apache,
        "openssh": profile.openssh,
        "openssh_version": profile.openssh.split("_")[1].split(" ")[0],
        "cert_country": profile.cert[0],
        "cert_locality": profile.cert[1],
        "cert_org": profile.cert[2],
        "cert_serial": f"{_h(seed, 'cert', profile.asset_ref, not_before):016X}",
        "cert_not_before": _cert_time(not_before),
        "cert_not_after": _cert_time(not_after),
        "cert_not_after_de": f"{not_after.day:02d}.{not_after.month:02d}.{not_after.year}",
        "tls_versions": "TLSv1.2 and TLSv1.3" if _h(seed, "tls", profile.asset_ref) % 2 else "TLSv1.0, TLSv1.2",
        "netbios_domain": "ACMECORP",
        "trace_id": f"{_h(seed, 'trace', scan.file_name) % 10**10:010d}",
    }


# --------------------------------------------------------------------------------------
# Nessus writer
# --------------------------------------------------------------------------------------


def _nessus_item(item: ScanItem, facts: dict[str, str]) -> str:
    p = item.plugin
    assert p is not None
    lines = [
        f"<ReportItem port=\"{item.port}\" svc_name={quoteattr(item.svc_name)} protocol={quoteattr(item.protocol)} "
        f"severity=\"{p.severity}\" pluginID=\"{p.plugin_id}\" pluginName={quoteattr(p.name)} "
        f"pluginFamily={quoteattr(p.family)}>",
        "<agent>all</agent>",
    ]
    lines += [_el("cve", c) for c in p.cves]
    if p.cvss3:
        lines += [_el("cvss3_base_score", p.cvss3[1]), _el("cvss3_vector", p.cvss3[0])]
    if p.cvss2:
        lines += [_el("cvss_base_score", p.cvss2[1]), _el("cvss_vector", p.cvss2[0])]
    lines += [_el("cwe", c) for c in p.cwes]
    lines.append(_el("description", p.description))
    if p.exploit is not None:
        lines.append(_el("exploit_available", "true" if p.exploit else "false"))
    lines += [
        _el("plugin_name", p.name),
        _el("plugin_publication_date", p.published),
        _el("plugin_type", p.plugin_type),
        _el("risk_factor", _risk_factor(p)),
    ]
    if p.see_also:
        lines.append(_el("see_also", "\n".join(p.see_also)))
    lines += [_el("solution", p.solution), _el("synopsis", p.synopsis)]
    lines += [_el("xref", x) for x in p.xrefs]
    if p.output:
        lines.append(_el("plugin_output", p.output.format(**facts)))
    lines.append("</ReportItem>")
    return "\n".join(lines)


def _nessus_document(scan: PlannedScan, profile: AssetProfile, items: list[ScanItem], seed: int) -> str:
    start, end = scan.started_at, scan.completed_at
    tags = [
        ("HOST_END_TIMESTAMP", str(int(end.timestamp()))),
        ("HOST_END", _nessus_time(end)),
        ("Credentialed_Scan", "false"),
        ("policy-used", NESSUS_POLICY),
        ("cpe-0", f"{profile.os_cpe} -> {profile.os_name}"),
        ("os", profile.os_family),
        ("operating-system", profile.os_name),
        ("system-type", "general-purpose"),
    ]
    if profile.os_family == "windows":
        tags.append(("netbios-name", profile.asset_ref.split(".")[0].upper()))
    tags += [
        ("traceroute-hop-0", "198.51.100.1"),
        ("traceroute-hop-1", profile.ip),
        ("host-fqdn", profile.asset_ref),
        ("host-rdns", profile.asset_ref),
        ("host-ip", profile.ip),
        ("HOST_START_TIMESTAMP", str(int(start.timestamp()))),
        ("HOST_START", _nessus_time(start)),
    ]
    plugin_set = ";".join(str(p.plugin_id) for p in NESSUS_PLUGINS)
    out = [
        '<?xml version="1.0" ?>',
        "<NessusClientData_v2>",
        f"<Policy><policyName>{escape(NESSUS_POLICY)}</policyName>",
        "<Preferences><ServerPreferences>",
        "<preference><name>plugin_set</name>",
        f"<value>{plugin_set}</value>",
        "</preference>",
        f"<preference><name>TARGET</name>\n<value>{escape(profile.asset_ref)}</value>\n</preference>",
        "<preference><name>port_range</name>\n<value>default</value>\n</preference>",
        "<preference><name>safe_checks</name>\n<value>yes</value>\n</preference>",
        "</ServerPreferences></Preferences>",
        "<FamilySelection>",
        *(f"<FamilyItem><FamilyName>{escape(f)}</FamilyName><Status>enabled</Status></FamilyItem>"
          for f in sorted({p.family for p in NESSUS_PLUGINS})),
        "</FamilySelection>",
        "</Policy>",
        f'<Report name={quoteattr(f"Weekly network scan - {profile.asset_ref} - {start.date().isoformat()}")} '
        'xmlns:cm="http://www.nessus.org/cm">',
        f"<ReportHost name={quoteattr(profile.asset_ref)}><HostProperties>",
        *(f"<tag name={quoteattr(k)}>{escape(v)}</tag>" for k, v in tags),
        "</HostProperties>",
    ]
    for item in items:
        out.append(_nessus_item(item, _facts(scan, profile, seed, item.port, item.svc_name)))
    out += ["</ReportHost>", "</Report>", "</NessusClientData_v2>", ""]
    return "\n".join(out)


# --------------------------------------------------------------------------------------
# Burp writer
# --------------------------------------------------------------------------------------


def _burp_exchange(
    issue: BurpIssueType, spot: BurpSpot, profile: AssetProfile, when: datetime, seed: int
) -> tuple[bytes, bytes]:
    """A plausible HTTP request/response pair for one issue spot."""
    session = f"{_h(seed, 'session', profile.asset_ref, when.date()):016x}"
    query = f"{quote_plus(spot.param)}={quote_plus(spot.value)}" if spot.param else ""
    target = f"{spot.path}?{query}" if query and spot.method == "GET" else spot.path
    head = [
        f"{spot.method} {target} HTTP/1.1",
        f"Host: {profile.asset_ref}",
        "Accept-Encoding: gzip, deflate, br",
        "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "Accept-Language: en-US;q=0.9,en;q=0.8",
        "User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/139.0.7258.155 Safari/537.36",
        "Connection: close",
        f"Cookie: session={session}; tracking_id=ga1.{_h(seed, 'track', profile.asset_ref) % 10**9}",
    ]
    body = query if spot.method == "POST" else ""
    if body:
        head += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body.encode())}"]
    request = "\r\n".join(head) + "\r\n\r\n" + body
    if issue.status == 500:
        page = ("<html><body><h1>Internal Server Error</h1><p>You have an error in your SQL syntax; check the "
                "manual that corresponds to your MySQL server version for the right syntax to use near "
                f"'{escape(spot.value)}' at line 1</p></body></html>")
        status = "500 Internal Server Error"
    else:
        shown = spot.value if issue.type_id in (2097920, 4197376) else escape(spot.value)
        page = (f"<!DOCTYPE html><html lang=\"de\"><head><meta charset=\"utf-8\"><title>Kundenportal</title></head>"
                f"<body><p>Ergebnisse f\u00fcr: {shown}</p><p>Kontakt: helpdesk@{profile.asset_ref}</p></body></html>")
        status = "200 OK"
    page_bytes = page.encode("utf-8")
    response = "\r\n".join([
        f"HTTP/1.1 {status}",
        f"Date: {_http_date(when)}",
        f"Server: Apache/{profile.apache} (Unix)",
        "Content-Type: text/html; charset=utf-8",
        "Set-Cookie: tracking_id=ga1.1; Path=/",
        f"Content-Length: {len(page_bytes)}",
        "Connection: close",
    ]).encode("ascii") + b"\r\n\r\n" + page_bytes
    return request.encode("utf-8"), response


def _html_list(items: list[str]) -> str:
    return "<ul>\n" + "\n".join(f"<li>{i}</li>" for i in items) + "\n</ul>"


def _burp_issue(item: ScanItem, scan: PlannedScan, profile: AssetProfile, seed: int, serial: int) -> str:
    issue, spot = item.issue, item.spot
    assert issue is not None and spot is not None
    when = scan.started_at + timedelta(seconds=_h(seed, "when", scan.file_name, *item.key) % 1200)
    request, response = _burp_exchange(issue, spot, profile, when, seed)
    detail = issue.detail.format(param=escape(spot.param), host=profile.asset_ref, value=escape(spot.value),
                                 path=escape(spot.path))
    out = [
        "  <issue>",
        f"    <serialNumber>{serial}</serialNumber>",
        f"    <type>{issue.type_id}</type>",
        f"    <name>{_cdata(issue.name)}</name>",
        f"    <host ip={quoteattr(profile.ip)}>{escape('https://' + profile.asset_ref)}</host>",
        f"    <path>{_cdata(spot.path)}</path>",
        f"    <location>{_cdata(spot.location)}</location>",
        f"    <severity>{issue.severity}</severity>",
        f"    <confidence>{issue.confidence}</confidence>",
        f"    <issueBackground>{_cdata(issue.background)}</issueBackground>",
        f"    <remediationBackground>{_cdata(issue.remediation)}</remediationBackground>",
    ]
    if issue.references:
        refs = _html_list([f'<a href="{u}">{escape(t)}</a>' for u, t in issue.references])
        out.append(f"    <references>{_cdata(refs)}</references>")
    classes = _html_list([f'<a href="https://cwe.mitre.org/data/definitions/{n}.html">CWE-{n}: {escape(t)}</a>'
                          for n, t in issue.cwes])
    out.append(f"    <vulnerabilityClassifications>{_cdata(classes)}</vulnerabilityClassifications>")
    if detail:
        out.append(f"    <issueDetail>{_cdata(detail)}</issueDetail>")
    if spot.evidence:
        out.append("    <issueDetailItems>")
        out += [f"      <issueDetailItem>{_cdata(e)}</issueDetailItem>" for e in spot.evidence]
        out.append("    </issueDetailItems>")
    out += [
        "    <requestresponse>",
        f"      <request method={quoteattr(spot.method)} base64=\"true\">"
        f"{_cdata(base64.b64encode(request).decode('ascii'))}</request>",
        f"      <response base64=\"true\">{_cdata(base64.b64encode(response).decode('ascii'))}</response>",
        "      <responseRedirected>false</responseRedirected>",
        "    </requestresponse>",
        "  </issue>",
    ]
    return "\n".join(out)


def _burp_document(scan: PlannedScan, profile: AssetProfile, items: list[ScanItem], seed: int) -> str:
    export_time = scan.completed_at + timedelta(seconds=60 + _h(seed, "export", scan.file_name) % 1500)
    serials: set[int] = set()
    issues = []
    for item in items:
        serial = _h(seed, "serial", scan.file_name, *item.key) % (9 * 10**18) + 10**18
        while serial in serials:  # unique per file, as in Burp
            serial += 1
        serials.add(serial)
        issues.append(_burp_issue(item, scan, profile, seed, serial))
    return "\n".join([
        '<?xml version="1.0"?>',
        _BURP_DTD,
        f'<issues burpVersion="{BURP_VERSION}" exportTime="{_burp_time(export_time)}">',
        *issues,
        "</issues>",
        "",
    ])


# --------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------


def render_scan(scan: PlannedScan, seed: int) -> bytes:
    """The file content of one planned scan (UTF-8 bytes)."""
    profile = asset_profile(scan.asset_ref, scan.asset_kind, seed, scan.host_ip)
    items = scan_items(scan, seed)
    if scan.tool == "nessus":
        text = _nessus_document(scan, profile, items, seed)
    elif scan.tool == "burp":
        text = _burp_document(scan, profile, items, seed)
    else:
        raise ValueError(f"unknown tool {scan.tool!r}")
    return text.encode("utf-8")


def write_scan_file(scan: PlannedScan, out_dir: Path, seed: int) -> Path:
    """Write one scan's file into ``out_dir`` (created if missing) and return its path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / scan.file_name
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(render_scan(scan, seed))
    tmp.replace(path)  # a watcher never sees a half-written file under the real name
    return path


def write_all(
    assets: Sequence[tuple[str, str]], first_monday: date, weeks: int, seed: int, out_dir: Path
) -> list[Path]:
    """Plan and write every scan; paths in completion order."""
    return [write_scan_file(scan, Path(out_dir), seed) for scan in plan_scans(assets, first_monday, weeks, seed)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write deterministic demo Nessus/Burp scanner files.")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--weeks", type=int, default=13)
    parser.add_argument("--seed", type=int, default=20260907)
    parser.add_argument("--first-monday", type=date.fromisoformat, default=DEFAULT_FIRST_MONDAY)
    args = parser.parse_args(argv)
    paths = write_all(DEFAULT_ASSETS, args.first_monday, args.weeks, args.seed, args.out_dir)
    total = sum(p.stat().st_size for p in paths)
    print(f"wrote {len(paths)} files, {total} bytes, into {args.out_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
