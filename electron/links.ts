/**
 * The only pages the app opens in the user's browser: its own documentation, under the
 * project's homepage (package.json `homepage`), over https. Anything else a page asks to
 * open (a link injected into a model name, a redirect) is refused.
 */
export function isDocumentationLink(url: string, homepage: string | undefined): boolean {
  if (!homepage) return false;
  let target: URL;
  let home: URL;
  try {
    target = new URL(url);
    home = new URL(homepage);
  } catch {
    return false;
  }
  if (target.protocol !== 'https:' || target.origin !== home.origin || target.username || target.password) return false;
  const base = home.pathname.replace(/\/+$/, '');
  const rest = target.pathname.slice(base.length);
  if (!target.pathname.startsWith(base) || (rest !== '' && !rest.startsWith('/'))) return false;
  // The project page itself (its README), or a file or folder under docs/ of any ref.
  return rest === '' || rest === '/' || /^\/(?:blob|tree)\/[\w.-]+\/docs(?:\/[\w./-]*)?$/.test(rest);
}
