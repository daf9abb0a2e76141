"""The HTTP client base over real HTTP against a fake provider on loopback (no mocks)."""

import logging
import threading
import time

import httpx
import pytest

from integrations import http
from integrations.fakes import FakeResponse, FakeServer
from integrations.ratelimit import RateLimiter


class Sleeps(list):
    """Records backoff sleeps instead of sleeping (the limiter waits for real)."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps():
    return Sleeps()


@pytest.fixture
def make_client(fake_server, limiter_key, sleeps):
    made = []

    def make(cls=http.ApiClient, *, limit=50, window=1.0, redis_url=None, **kwargs):
        limiter = RateLimiter(limiter_key, limit=limit, window=window, redis_url=redis_url)
        limiter.reset()
        client = cls(base_url=fake_server.url, limiter=limiter, sleep=sleeps, **kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        client.limiter.reset()
        client.close()


def test_a_request_goes_out_with_the_subclass_auth_headers(fake_server, make_client):
    class Client(http.ApiClient):
        system = "demo"

        def auth_headers(self):
            return {"Authorization": "Bearer tok-1"}

    response = make_client(Client).get("/api/things", params={"page": 2})
    assert response.json() == {"ok": True, "path": "/api/things"}
    (request,) = fake_server.journal
    assert request.headers["authorization"] == "Bearer tok-1"
    assert request.query == {"page": ["2"]}


def test_server_errors_are_retried_with_growing_backoff_and_jitter(
    fake_server, make_client, sleeps
):
    fake_server.fail_next(500, times=2)
    response = make_client().get("/api/x")
    assert response.status_code == 200
    assert len(fake_server.journal) == 3
    assert len(sleeps) == 2
    assert 0.25 <= sleeps[0] <= 0.5 and 0.5 <= sleeps[1] <= 1.0


def test_after_the_last_attempt_a_server_error_is_raised(fake_server, make_client):
    fake_server.fail_next(503, times=10)
    with pytest.raises(http.ServerError) as error:
        make_client(max_attempts=3).get("/api/x")
    assert error.value.status == 503
    assert len(fake_server.journal) == 3


def test_a_post_is_not_retried_after_a_server_error_unless_it_is_idempotent(
    fake_server, make_client
):
    client = make_client()
    fake_server.fail_next(500)
    with pytest.raises(http.ServerError):
        client.post("/api/create", json=[{"name": "a"}])
    assert len(fake_server.journal) == 1
    fake_server.fail_next(500)
    assert client.post("/api/create", json=[], idempotent=True).status_code == 200
    assert len(fake_server.journal) == 3


def test_a_timeout_is_retried_then_raised_as_timeout(fake_server, make_client):
    class Quick(http.ApiClient):
        timeout = httpx.Timeout(0.2)

    client = make_client(Quick, max_attempts=2)
    fake_server.delay_next(0.5)
    assert client.get("/api/slow").status_code == 200
    assert len(fake_server.journal) == 2
    fake_server.delay_next(0.5, times=2)
    with pytest.raises(http.Timeout):
        client.get("/api/slow")


def test_a_dropped_connection_is_retried(fake_server, make_client):
    fake_server.drop_next()
    assert make_client().get("/api/x").status_code == 200
    assert len(fake_server.journal) == 2


def test_nobody_listening_is_a_server_error_without_status(make_client):
    with FakeServer() as gone:
        url = gone.url
    client = make_client(max_attempts=2)
    client.http.base_url = httpx.URL(url)
    with pytest.raises(http.ServerError) as error:
        client.get("/api/x")
    assert error.value.status is None


def test_a_429_waits_as_told_and_slows_the_rate_down(fake_server, make_client):
    client = make_client(limit=8)
    fake_server.fail_next(429, retry_after=1)
    assert client.get("/api/x").status_code == 200
    first, second = fake_server.journal
    assert second.at - first.at >= 0.95
    assert client.limiter.current_limit() == 4


def test_429_to_the_end_raises_rate_limited_with_retry_after(fake_server, make_client):
    fake_server.fail_next(429, retry_after=0, times=5)
    with pytest.raises(http.RateLimited) as error:
        make_client(max_attempts=2).get("/api/x")
    assert error.value.retry_after == 0
    assert len(fake_server.journal) == 2


def test_a_401_refreshes_once_and_retries_with_the_new_credentials(fake_server, make_client):
    class Refreshing(http.ApiClient):
        token = "old"
        refreshed = 0

        def auth_headers(self):
            return {"Authorization": f"Bearer {self.token}"}

        def refresh(self):
            self.refreshed += 1
            self.token = "new"

    client = make_client(Refreshing)
    fake_server.fail_next(401)
    assert client.get("/api/x").status_code == 200
    assert client.refreshed == 1
    assert [r.headers["authorization"] for r in fake_server.journal] == [
        "Bearer old",
        "Bearer new",
    ]
    fake_server.fail_next(401, times=2)
    with pytest.raises(http.Unauthorized):
        client.get("/api/x")
    assert client.refreshed == 2  # once for this request, not twice


def test_a_401_without_a_way_to_refresh_is_unauthorized(fake_server, make_client):
    fake_server.fail_next(401)
    with pytest.raises(http.Unauthorized):
        make_client().get("/api/x")
    assert len(fake_server.journal) == 1


def test_a_403_is_forbidden_at_once(fake_server, make_client):
    fake_server.fail_next(403, times=3)
    with pytest.raises(http.Forbidden) as error:
        make_client().get("/api/x")
    assert error.value.status == 403
    assert len(fake_server.journal) == 1


def test_another_client_error_is_an_integration_error_with_the_body(fake_server, make_client):
    class Refusing(FakeServer):
        def handle(self, request):
            return FakeResponse.json({"detail": "bad field"}, 400, {"X-Request-Id": "r-7"})

    with Refusing() as refusing:
        client = make_client()
        client.http.base_url = httpx.URL(refusing.url)
        with pytest.raises(http.IntegrationError) as error:
            client.get("/api/x")
    assert type(error.value) is http.IntegrationError
    assert (error.value.status, error.value.request_id) == (400, "r-7")
    assert "bad field" in error.value.body


def test_secrets_never_reach_the_log(make_client, caplog):
    class Tokens(FakeServer):
        def handle(self, request):
            return FakeResponse.json(
                {"access_token": "AT-secret", "refresh_token": "RT-secret", "expires_in": 86400}
            )

    class Client(http.ApiClient):
        def auth_headers(self):
            return {"Authorization": "Bearer HEADER-secret"}

    caplog.set_level(logging.DEBUG, logger="integrations.http")
    with Tokens() as tokens:
        client = make_client(Client)
        client.http.base_url = httpx.URL(tokens.url)
        client.post(
            "/oauth2/access_token?code=QS-secret",
            json={"client_secret": "CS-secret", "code": "CODE-secret", "grant_type": "x"},
        )
        client.post("/form", data={"refresh_token": "FORM-secret", "name": "Иван"})
        assert tokens.journal[0].json()["client_secret"] == "CS-secret"  # sent as it is
    logged = caplog.text
    for secret in ("AT-", "RT-", "HEADER-", "QS-", "CS-", "CODE-", "FORM-"):
        assert f"{secret}secret" not in logged
    assert "***" in logged and "grant_type" in logged and "expires_in" in logged


@pytest.mark.parametrize(
    "text",
    [
        '{"data": [{"access_token": "S1"}]}',
        "client_secret=S1&x=1",
        "Authorization: Bearer S1.S1",
        "error near access_token=S1 at 3",
    ],
)
def test_mask_text_hides_secrets_in_any_shape(text):
    assert "S1" not in http.mask_text(text)


def test_retry_after_values_are_read_safely():
    read = http.retry_after_seconds
    assert read("3", default=1, most=60) == 3
    assert read(None, default=1, most=60) == 1
    assert read("Wed, 21 Oct 2015 07:28:00 GMT", default=1, most=60) == 1
    assert read("-5", default=1, most=60) == 1
    assert read("nan", default=1, most=60) == 1
    assert read("99999", default=1, most=60) == 60


def _spacing_ok(times: list[float], limit: int, window: float) -> bool:
    times = sorted(times)
    return all(times[i + limit] - times[i] >= window - 0.1 for i in range(len(times) - limit))


@pytest.mark.parametrize("redis_url", [None, ""], ids=["redis", "in-process"])
def test_two_clients_in_two_threads_share_one_rate(fake_server, limiter_key, redis_url):
    """Two clients (as two workers would be) with their own limiters on one key."""
    limit, window, per_thread = 4, 0.5, 8
    clients = []
    for _ in range(2):
        limiter = RateLimiter(limiter_key, limit=limit, window=window, redis_url=redis_url)
        clients.append(http.ApiClient(base_url=fake_server.url, limiter=limiter))
    clients[0].limiter.reset()

    def work(client):
        for _ in range(per_thread):
            client.get("/api/x")

    started = time.monotonic()
    threads = [threading.Thread(target=work, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    clients[0].limiter.reset()
    times = [request.at for request in fake_server.journal]
    assert len(times) == 2 * per_thread
    assert _spacing_ok(times, limit, window)
    # 16 requests at 4 per half second: three full windows to wait at least.
    assert elapsed >= 1.4


@pytest.mark.parametrize("redis_url", [None, ""], ids=["redis", "in-process"])
def test_a_slot_counts_from_its_answer(limiter_key, redis_url):
    """A request held up on its way arrives late at the provider, which counts arrivals: the
    window runs from the answer (settle), so the next request cannot arrive early."""
    limiter = RateLimiter(limiter_key, limit=1, window=0.3, redis_url=redis_url)
    limiter.reset()
    limiter.acquire(slot="first")
    time.sleep(0.2)  # on its way, then answered
    limiter.settle("first")
    assert limiter.acquire(slot="second") >= 0.25  # not 0.1: a window from the answer
    limiter.settle("gone")  # a slot no longer in the window is not added back
    time.sleep(0.35)
    assert limiter.acquire() < 0.05
    limiter.reset()


def test_the_client_settles_its_slot_when_the_answer_comes(fake_server, make_client):
    client = make_client(limit=1, window=0.3)
    fake_server.delay_next(0.2)
    client.get("/api/slow")
    answered = time.monotonic()
    client.get("/api/x")
    assert time.monotonic() - answered >= 0.25
    assert fake_server.journal[1].at - answered >= 0.25


def test_the_rate_comes_from_the_setting_or_the_connection(settings):
    from integrations.models import Connection

    settings.INTEGRATIONS_RATE_LIMIT = 7
    plain = Connection(pk=101, system="crm", base_url="https://a.example.com")
    own = Connection(pk=102, system="crm", base_url="https://a.example.com")
    own.settings = {"rate_limit": 3}
    with http.ApiClient(plain) as a, http.ApiClient(own) as b:
        assert (a.limiter.limit, b.limiter.limit) == (7, 3)
        assert a.limiter.key.endswith("ratelimit:http:101")
        assert str(a.http.base_url).startswith("https://a.example.com")


def test_no_slot_in_time_is_rate_limited(fake_server, make_client):
    client = make_client(limit=1, window=5.0)
    client.limiter_max_wait = 0.2
    client.get("/api/x")
    with pytest.raises(http.RateLimited):
        client.get("/api/x")
    assert len(fake_server.journal) == 1
