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
