// Live updates: one websocket per page, topics subscribed by page modules.
//   Live.subscribe("calendar.3.2026-11-23", (data) => reload());
window.Live = (function () {
  "use strict";
  const handlers = new Map();
  const subscribed = new Set(); // topics the server has confirmed
  let socket = null;
  let retry = 1000;

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/ws/live/`);
    socket.addEventListener("open", () => {
      retry = 1000;
      for (const topic of handlers.keys()) socket.send(JSON.stringify({ subscribe: topic }));
      document.dispatchEvent(new CustomEvent("live:open"));
    });
    socket.addEventListener("message", (event) => {
      const message = JSON.parse(event.data);
      if (message.subscribed) {
        subscribed.add(message.subscribed);
        document.dispatchEvent(new CustomEvent("live:subscribed", { detail: message.subscribed }));
        return;
      }
      (handlers.get(message.topic) || []).forEach((handler) => handler(message.data));
    });
    socket.addEventListener("close", () => {
      subscribed.clear();
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    });
  }

  function subscribe(topic, handler) {
    if (!handlers.has(topic)) handlers.set(topic, []);
    handlers.get(topic).push(handler);
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ subscribe: topic }));
    if (!socket) connect();
  }

  function unsubscribe(topic) {
    handlers.delete(topic);
    subscribed.delete(topic);
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ unsubscribe: topic }));
  }

  return { subscribe, unsubscribe, subscribed };
})();
