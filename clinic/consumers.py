from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from clinic import live


class LiveConsumer(AsyncJsonWebsocketConsumer):
    """One socket per page; it subscribes to the topics the page shows."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.topics: set[str] = set()
        await self.accept()

    async def receive_json(self, content, **kwargs) -> None:
        topic = content.get("subscribe") or content.get("unsubscribe")
        if not isinstance(topic, str) or len(topic) > 200:
            await self.send_json({"error": "bad request"})
            return
        if "unsubscribe" in content:
            self.topics.discard(topic)
            await self.channel_layer.group_discard(live.group_name(topic), self.channel_name)
            return
        allowed = await database_sync_to_async(live.may_listen)(self.scope["user"], topic)
        if not allowed:
            await self.send_json({"error": "forbidden", "topic": topic})
            return
        self.topics.add(topic)
        await self.channel_layer.group_add(live.group_name(topic), self.channel_name)
        await self.send_json({"subscribed": topic})

    async def disconnect(self, code) -> None:
        for topic in getattr(self, "topics", ()):
            await self.channel_layer.group_discard(live.group_name(topic), self.channel_name)

    async def live_message(self, event) -> None:
        await self.send_json({"topic": event["topic"], "data": event["data"]})
