export function App() {
  return <main><h1>Mandate console</h1></main>;
}
