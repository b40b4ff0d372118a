"""Bodies stream through without being buffered whole (issue 4): 1 GiB each way with the
proxy's memory flat."""
import http.client
import threading

from greenlb_testlib import Greenlb, Upstream, basic_config, rss_kib

GIB = 1 << 30


def test_one_gib_upload_streams_with_flat_rss():
    with Upstream("sink") as up:
        text, port, _ = basic_config([up.address])
        with Greenlb(text) as lb:
            baseline = rss_kib(lb.pid())
            peak = [baseline]
            done = threading.Event()

            def sample():
                while not done.wait(0.05):
                    peak[0] = max(peak[0], rss_kib(lb.pid()))

            sampler = threading.Thread(target=sample)
            sampler.start()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            block = b"u" * (1 << 20)
            conn.putrequest("POST", "/sink")
            conn.putheader("Content-Length", str(GIB))
            conn.endheaders()
            for _ in range(GIB // len(block)):
                conn.send(block)
            r = conn.getresponse()
            body = r.read()
            done.set()
            sampler.join()
            assert r.status == 200
            assert int(body) == GIB
            # Pooled buffers only: the proxy's RSS moves by a few MiB, not by the body.
            assert peak[0] - baseline < 32 * 1024, (baseline, peak[0])


def test_one_gib_download_streams_with_flat_rss():
    with Upstream("source") as up:
        text, port, _ = basic_config([up.address])
        with Greenlb(text) as lb:
            baseline = rss_kib(lb.pid())
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            conn.request("GET", f"/big?bytes={GIB}&chunked=1")
            r = conn.getresponse()
            assert r.status == 200
            total, peak = 0, baseline
            while chunk := r.read(1 << 20):
                total += len(chunk)
                if total % (64 << 20) < len(chunk):
                    peak = max(peak, rss_kib(lb.pid()))
            assert total == GIB
            assert peak - baseline < 32 * 1024, (baseline, peak)
