"""Throwaway certificate authorities and certificates for the TLS tests, made with the
openssl command line (ECDSA P-256, as the benchmark uses)."""
import pathlib
import subprocess


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE, timeout=30)


class CertAuthority:
    """A CA in directory `where`: .cert is its certificate file, issue() signs leaf certs."""

    def __init__(self, where, name="greenlb test CA"):
        self.dir = pathlib.Path(where)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.name = name.replace(" ", "_")
        self.key = self.dir / f"{self.name}.key"
        self.cert = self.dir / f"{self.name}.crt"
        _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(self.key),
                 cwd=self.dir)
        _openssl("req", "-x509", "-new", "-key", str(self.key), "-sha256", "-days", "30",
                 "-subj", f"/CN={name}", "-out", str(self.cert), cwd=self.dir)
        self._serial = 1

    def issue(self, file_stem, common_name, dns=(), ips=(), days=30, client=False):
        """Signs a certificate; returns (cert path, key path)."""
        key = self.dir / f"{file_stem}.key"
        csr = self.dir / f"{file_stem}.csr"
        cert = self.dir / f"{file_stem}.crt"
        ext = self.dir / f"{file_stem}.ext"
        sans = [f"DNS:{d}" for d in dns] + [f"IP:{i}" for i in ips]
        lines = ["basicConstraints=CA:FALSE",
                 "extendedKeyUsage=" + ("clientAuth" if client else "serverAuth")]
        if sans:
            lines.append("subjectAltName=" + ",".join(sans))
        ext.write_text("\n".join(lines) + "\n")
        _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key),
                 cwd=self.dir)
        _openssl("req", "-new", "-key", str(key), "-subj", f"/CN={common_name}", "-out", str(csr),
                 cwd=self.dir)
        self._serial += 1
        _openssl("x509", "-req", "-in", str(csr), "-CA", str(self.cert), "-CAkey", str(self.key),
                 "-set_serial", str(self._serial), "-days", str(days), "-sha256",
                 "-extfile", str(ext), "-out", str(cert), cwd=self.dir)
        return cert, key


def not_after(cert):
    """The certificate's expiry as Unix seconds."""
    out = subprocess.run(["openssl", "x509", "-in", str(cert), "-noout", "-enddate"],
                         check=True, capture_output=True, text=True, timeout=10).stdout
    import calendar
    import time
    stamp = out.strip().split("=", 1)[1]
    return calendar.timegm(time.strptime(stamp, "%b %d %H:%M:%S %Y %Z"))
