// Parses each Mermaid file named on the command line with the real Mermaid parser and prints,
// as JSON, what it understood: the diagram type, each node's text, each edge with its label
// and style. A file that does not parse is reported with Mermaid's own error.
import { readFileSync } from 'node:fs';
import { JSDOM } from 'jsdom';

// Mermaid sanitizes labels with DOMPurify, which needs a DOM.
const { window } = new JSDOM('');
globalThis.window = window;
globalThis.document = window.document;
const { default: mermaid } = await import('mermaid');

const results = [];
for (const file of process.argv.slice(2)) {
  const text = readFileSync(file, 'utf8');
  try {
    const { diagramType } = await mermaid.parse(text);
    const diagram = await mermaid.mermaidAPI.getDiagramFromText(text);
    const nodes = [...diagram.db.getVertices().values()].map((v) => ({ id: v.id, text: v.text }));
    const edges = diagram.db.getEdges().map((e) => ({
      from: e.start,
      to: e.end,
      text: e.text,
      style: e.style ?? [],
    }));
    results.push({ file, diagramType, nodes, edges });
  } catch (error) {
    results.push({ file, error: String(error.message ?? error) });
  }
}
process.stdout.write(JSON.stringify(results));
