// The contact page's script. It has bugs on purpose: the topic list is never
// filled (a console error) and it loads topics from an endpoint that does not exist.
const topics = document.querySelector("#topic");
if (topics.options.length === 0) {
  console.error("Contact form: no topics to choose from");
}
fetch("/api/contact/topics").then((response) => {
  if (!response.ok) {
    console.error(`Contact form: loading the topics failed (HTTP ${response.status})`);
  }
});
