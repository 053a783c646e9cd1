// Stands in for node: modules in the browser bundle: the library imports them lazily inside Node-only
// functions (file helpers, loadMnist) that the lab never calls in a page.
export default {};
