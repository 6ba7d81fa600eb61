export const views = [
  { id: 'models', label: 'Models' },
  { id: 'compress', label: 'Compress' },
  { id: 'experiments', label: 'Experiments' },
  { id: 'boards', label: 'Boards' },
  { id: 'about', label: 'About' },
] as const;

export type ViewId = (typeof views)[number]['id'];

interface Route {
  view: ViewId;
  /** Segments after the view, e.g. ['run', '12'] for #/experiments/run/12. */
  rest: string[];
}

function fromHash(): Route {
  const [id = '', ...rest] = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  return views.some((v) => v.id === id) ? { view: id as ViewId, rest } : { view: 'models', rest: [] };
}

/** The current view lives in the URL hash so reloads and the back button keep it. */
class Router {
  route = $state<Route>(fromHash());
  current = $derived(this.route.view);

  constructor() {
    window.addEventListener('hashchange', () => (this.route = fromHash()));
  }

  go(view: ViewId, ...rest: (string | number)[]): void {
    location.hash = `#/${[view, ...rest.map((r) => encodeURIComponent(String(r)))].join('/')}`;
  }
}

export const router = new Router();
