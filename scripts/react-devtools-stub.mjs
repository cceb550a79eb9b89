// Stands in for react-devtools-core in the dashboard bundle: Ink imports it
// only when DEV=true, and friendtorrent never runs with React DevTools.
export default {
  initialize() {},
  connectToDevTools() {},
}
