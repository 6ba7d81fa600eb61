export const views = [
  { id: 'models', label: 'Models' },
  { id: 'compress', label: 'Compress' },
  { id: 'experiments', label: 'Experiments' },
  { id: 'boards', label: 'Boards' },
  { id: 'about', label: 'About' },
] as const;

export type ViewId = (typeof views)[number]['id'];

function fromHash(): ViewId {
  const id = location.hash.replace(/^#\/?/, '');
  return views.some((v) => v.id === id) ? (id as ViewId) : 'models';
}

/** The current view lives in the URL hash so reloads and the back button keep it. */
class Router {
  current = $state<ViewId>(fromHash());

  constructor() {
    window.addEventListener('hashchange', () => (this.current = fromHash()));
  }

  go(id: ViewId): void {
    location.hash = `#/${id}`;
  }
}

export const router = new Router();
