import { type MouseEvent, useEffect, useState } from 'react';
import { permissions, type Session, currentSession, signOut } from './api.ts';
import { openStream } from './live.ts';
import { SignIn } from './pages/SignIn.tsx';
import { Overview } from './pages/Overview.tsx';
import { Agents } from './pages/Agents.tsx';
import { Mandates } from './pages/Mandates.tsx';
import { Approvals } from './pages/Approvals.tsx';
import { Audit } from './pages/Audit.tsx';
import { Policies } from './pages/Policies.tsx';
import { Servers } from './pages/Servers.tsx';

const BASE = '/console';
const PAGES = [
  { path: '/', title: 'Overview', allowed: () => true },
  { path: '/agents', title: 'Agents', allowed: (p: ReturnType<typeof permissions>) => p.readAgents },
  { path: '/mandates', title: 'Mandates', allowed: (p: ReturnType<typeof permissions>) => p.read },
  { path: '/approvals', title: 'Approvals', allowed: (p: ReturnType<typeof permissions>) => p.readApprovals },
  { path: '/audit', title: 'Audit', allowed: (p: ReturnType<typeof permissions>) => p.read },
  { path: '/policies', title: 'Policies', allowed: (p: ReturnType<typeof permissions>) => p.read },
  { path: '/servers', title: 'Servers', allowed: (p: ReturnType<typeof permissions>) => p.read },
] as const;

const pagePath = () => {
  const rest = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : '/';
  return rest === '' ? '/' : rest.replace(/\/+$/, '') || '/';
};

export function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [path, setPath] = useState(pagePath());
  const [live, setLive] = useState(false);

  useEffect(() => {
    void currentSession().then(setSession, () => setSession(null));
    const onPop = () => setPath(pagePath());
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);
  useEffect(() => (session ? openStream(setLive) : undefined), [session]);
  useEffect(() => {
    const page = PAGES.find((p) => p.path === path);
    document.title = `${page?.title ?? 'Not found'} · Mandate console`;
  }, [path]);

  if (session === undefined) return <main className="loading" aria-busy="true">Loading…</main>;
  if (session === null) return <SignIn onSignedIn={setSession} />;

  const can = permissions(session);
  const go = (event: MouseEvent<HTMLAnchorElement>, to: string) => {
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    history.pushState(null, '', `${BASE}${to === '/' ? '/' : to}`);
    setPath(to);
    document.getElementById('main')?.focus();
  };
  const page = PAGES.find((p) => p.path === path);
  const shown = page && page.allowed(can) ? page.path : undefined;

  return (
    <>
      <a className="skip" href="#main">Skip to content</a>
      <header className="top">
        <span className="brand">Mandate</span>
        <nav aria-label="Console">
          <ul>
            {PAGES.filter((p) => p.allowed(can)).map((p) => (
              <li key={p.path}>
                <a href={`${BASE}${p.path === '/' ? '/' : p.path}`} aria-current={p.path === path ? 'page' : undefined} onClick={(e) => go(e, p.path)}>
                  {p.title}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span className="who">
          <span className={live ? 'live on' : 'live'} role="status">{live ? 'Live' : 'Offline'}</span>
          <span data-testid="operator">{session.operator}</span> <span className="roles">({session.roles.join(', ')})</span>
          <button
            type="button"
            onClick={async () => {
              await signOut().catch(() => undefined);
              setSession(null);
            }}
          >
            Sign out
          </button>
        </span>
      </header>
      <main id="main" tabIndex={-1}>
        {shown === '/' && <Overview can={can} />}
        {shown === '/agents' && <Agents can={can} />}
        {shown === '/mandates' && <Mandates can={can} />}
        {shown === '/approvals' && <Approvals can={can} />}
        {shown === '/audit' && <Audit can={can} />}
        {shown === '/policies' && <Policies />}
        {shown === '/servers' && <Servers can={can} />}
        {shown === undefined && (
          <>
            <h1>Not here</h1>
            <p>This page does not exist, or your roles do not show it.</p>
          </>
        )}
      </main>
    </>
  );
}
