import { type FormEvent, useState } from 'react';
import { api } from '../api.ts';
import { ErrorNote, Panel, describe, useLoad } from '../ui.tsx';

interface PolicySet {
  version: string;
  policies?: string[];
  policy_ids?: string[];
  files?: Array<{ file: string; text: string }>;
  [key: string]: unknown;
}

/** An AuthZEN-style request as `POST /v1/authorize` takes it; the agent's card comes from the registry. */
const SAMPLE = JSON.stringify(
  {
    subject: { type: 'agent', id: 'worker', properties: { instance: 'i-1' } },
    action: { name: 'tools/call' },
    resource: { type: 'tool', id: 'everything/echo', properties: { highImpact: false, cost: 1 } },
    context: { scope: ['tool:everything/echo'], delegation: { depth: 0, chain: ['i-1'] }, environment: 'dev', risk: 0, approval: 'none' },
  },
  null,
  2,
);

export function Policies() {
  const { data, error } = useLoad(() => api<PolicySet>('GET', '/v1/policies?files=true'));
  const [question, setQuestion] = useState(SAMPLE);
  const [answer, setAnswer] = useState<string | undefined>(undefined);
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const explain = async (event: FormEvent) => {
    event.preventDefault();
    setAnswer(undefined);
    setProblem(undefined);
    try {
      const explained = await api<{ text?: string }>('POST', '/v1/policies/explain', JSON.parse(question));
      setAnswer(explained.text ?? JSON.stringify(explained, null, 2));
    } catch (e) {
      setProblem(describe(e));
    }
  };
  const ids = data?.policy_ids ?? data?.policies ?? [];
  return (
    <>
      <h1>Policies</h1>
      <ErrorNote error={error} />
      {data && (
        <Panel title="Running set">
          <p>
            Version <span className="mono">{data.version}</span> · {ids.length} policies
          </p>
          {(data.files ?? []).map((f) => (
            <details key={f.file}>
              <summary>{f.file}</summary>
              <pre className="json" tabIndex={0} aria-label={`Policy file ${f.file}`}>{f.text}</pre>
            </details>
          ))}
        </Panel>
      )}
      <Panel title="Explain a request">
        <form onSubmit={explain}>
          <label htmlFor="explain-request">Request (AuthZEN JSON: subject, action, resource, context)</label>
          <textarea id="explain-request" rows={10} value={question} onChange={(e) => setQuestion(e.target.value)} spellCheck={false} />
          <button type="submit">Explain</button>
        </form>
        {problem && (
          <p className="error" role="alert">
            {problem}
          </p>
        )}
        {answer && (
          <pre className="json" tabIndex={0} aria-label="The explanation" data-testid="explanation">
            {answer}
          </pre>
        )}
      </Panel>
    </>
  );
}
