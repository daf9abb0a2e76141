// The doctor's day refreshes itself when a visit of that day changes anywhere.
(function () {
  "use strict";
  const box = () => document.querySelector("[data-schedule-topic]");
  const topic = box() && box().dataset.scheduleTopic;
  if (topic) Live.subscribe(topic, () => htmx.trigger(document.body, "liveSchedule"));
})();
