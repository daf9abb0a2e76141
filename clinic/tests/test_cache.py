from django.conf import settings

from clinic.cache import ReusingRedisCache


def test_the_redis_cache_keeps_one_client_per_pool_and_works():
    cache = ReusingRedisCache(settings.REDIS_URL, {"KEY_PREFIX": "test-cache-reuse"})
    client = cache._cache
    assert client.get_client() is client.get_client()
    assert client.get_client(write=True) is client.get_client(write=True)
    cache.set("reused", {"value": 1}, 30)
    assert cache.get("reused") == {"value": 1}
    cache.delete("reused")
    assert cache.get("reused") is None


def test_cache_objects_of_one_configuration_share_the_process_client():
    # Django makes a cache object per context, and under ASGI per request: they must not
    # each open their own connections to Redis.
    first = ReusingRedisCache(settings.REDIS_URL, {"KEY_PREFIX": "a"})
    second = ReusingRedisCache(settings.REDIS_URL, {"KEY_PREFIX": "b"})
    assert first._cache is second._cache
    assert first._cache.get_client() is second._cache.get_client()
    other = ReusingRedisCache(settings.REDIS_URL, {"KEY_PREFIX": "a", "OPTIONS": {"db": 3}})
    assert other._cache is not first._cache
