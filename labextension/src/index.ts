/**
 * jupyter_desktop's JupyterLab / Notebook 7 front end: a "Desktop" launcher tile, a "Desktops" tile,
 * command palette and File > New entries.
 *
 * "New Desktop" POSTs {base}desktop/api/desktops (the server extension starts a desktop) and opens its viewer in a
 * main-area tab (JupyterLab) or the viewer page {base}desktop/<id>/ in a new browser tab (Notebook 7, whose tree
 * page has no main-area tabs). "Desktops" opens the list the same way.
 *
 * The tabs host the viewer UI directly in Lab's DOM, no iframe: under JupyterHub (>= 4.1) every single-user
 * response says `Content-Security-Policy: frame-ancestors 'none'`, so a framed page is refused, and every user's
 * server shares the hub's one origin, so even `frame-ancestors 'self'` would let another user's page frame (and
 * script) a student's viewer. The tab loads the server's viewer bundle, {base}desktop/static/viewer.{js,css}, once,
 * as a classic <script> and a <link> (same-origin no-cors GETs, which the hub serves to a cookie login), and calls
 * the global it defines, `jupyterDesktop.mountViewer(node, config)` / `mountList(node, config)`, in its
 * "embedded" mode. The UI (noVNC, reconnects, clipboard, list) is the server's, the same as its pages'.
 */

import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget, WidgetTracker, showErrorMessage } from '@jupyterlab/apputils';
import { PageConfig, URLExt } from '@jupyterlab/coreutils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { ILauncher } from '@jupyterlab/launcher';
import { IMainMenu } from '@jupyterlab/mainmenu';
import { ServerConnection } from '@jupyterlab/services';
import { LabIcon } from '@jupyterlab/ui-components';
import { Message, MessageLoop } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';
import type { Menu } from '@lumino/widgets';


const NS = 'jupyter-desktop';

export namespace CommandIDs {
  /** Start a desktop and open it. Args: {profile?, width?, height?, newBrowserTab?} */
  export const create = 'jupyter-desktop:new';
  /** Open a desktop's viewer ({id}) or, without an id, the list of desktops. Args: {id?, newBrowserTab?} */
  export const open = 'jupyter-desktop:open';
  /** Open the list of desktops. */
  export const list = 'jupyter-desktop:list';
}

const MONITOR_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16" height="16">
  <g class="jp-icon3" fill="#616161">
    <path fill-rule="evenodd" d="M3.5 3h17A1.5 1.5 0 0 1 22 4.5v10a1.5 1.5 0 0 1-1.5 1.5h-17A1.5 1.5 0 0 1 2 14.5v-10A1.5 1.5 0 0 1 3.5 3zM4 5v9h16V5z"/>
    <path d="M10 16h4v3h3v2H7v-2h3z"/>
  </g>
  <g class="jp-icon-brand0" fill="#1976D2">
    <rect x="6" y="7" width="8" height="5" rx=".5"/>
  </g>
</svg>`;

const MONITORS_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16" height="16">
  <g class="jp-icon3" fill="#616161">
    <path fill-rule="evenodd" d="M7.5 2h13A1.5 1.5 0 0 1 22 3.5v8a1.5 1.5 0 0 1-1.5 1.5H19v-2h1V4H8v1H6V3.5A1.5 1.5 0 0 1 7.5 2z"/>
    <path fill-rule="evenodd" d="M3.5 7h12A1.5 1.5 0 0 1 17 8.5v8a1.5 1.5 0 0 1-1.5 1.5h-12A1.5 1.5 0 0 1 2 16.5v-8A1.5 1.5 0 0 1 3.5 7zM4 9v7h11V9z"/>
    <path d="M7.5 18h4v2H14v2H5v-2h2.5z"/>
  </g>
</svg>`;

export const desktopIcon = new LabIcon({ name: 'jupyter-desktop:desktop', svgstr: MONITOR_SVG });
export const desktopsIcon = new LabIcon({ name: 'jupyter-desktop:desktops', svgstr: MONITORS_SVG });

/** Notebook 7 sets `notebookPage` (tree, notebooks, edit, ...); JupyterLab does not. */
const notebookPage = PageConfig.getOption('notebookPage');
const isNotebook7 = !!notebookPage;

export interface IDesktop {
  id: string;
  status: string;
  error?: string | null;
  [key: string]: unknown;
}

export function viewerUrl(baseUrl: string, id: string): string {
  return URLExt.join(baseUrl, 'desktop', encodeURIComponent(id)) + '/';
}

export function listUrl(baseUrl: string): string {
  return URLExt.join(baseUrl, 'desktop') + '/';
}

/** POST {base}desktop/api/desktops; throws with the server's message on errors. */
export async function createDesktop(
  body: Record<string, unknown>,
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<IDesktop> {
  const url = URLExt.join(settings.baseUrl, 'desktop/api/desktops');
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, { method: 'POST', body: JSON.stringify(body) }, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }
  if (!response.ok) {
    throw await ServerConnection.ResponseError.create(response);
  }
  return (await response.json()) as IDesktop;
}

// ------------------------------------------------------------------------------------ the server's viewer bundle

/** What a mounted viewer or list hands back (see js/src/viewer.js). */
interface IMounted {
  dispose(): void;
  focus?(): void;
  refresh?(): Promise<void>;
}

/** The global `jupyterDesktop` that {base}desktop/static/viewer.js defines. */
export interface IViewerLib {
  API_VERSION: number;
  mountViewer(
    node: HTMLElement,
    config: { baseUrl: string; desktopId: string; embedded: true; openList: () => void }
  ): IMounted;
  mountList(
    node: HTMLElement,
    config: { baseUrl: string; embedded: true; openViewer: (id: string) => void; isVisible: () => boolean }
  ): IMounted;
}

/** The bundle's interface this extension speaks (viewer.js's API_VERSION). */
const VIEWER_API = 1;

let viewerLib: Promise<IViewerLib> | null = null;

function loadElement(el: HTMLScriptElement | HTMLLinkElement, url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    el.addEventListener('load', () => resolve(), { once: true });
    el.addEventListener('error', () => reject(new Error(`Could not load ${url}`)), { once: true });
    document.head.appendChild(el);
  });
}

/**
 * Load {base}desktop/static/viewer.css and viewer.js once (a <link> and a classic <script>: same-origin no-cors
 * GETs, behind Jupyter's auth like every route of ours) and resolve to the global the script defines.
 */
export function loadViewerLib(baseUrl: string): Promise<IViewerLib> {
  if (!viewerLib) {
    const base = URLExt.join(baseUrl, 'desktop/static/');
    const link = document.createElement('link');
    link.rel = 'stylesheet';
    link.href = base + 'viewer.css';
    link.dataset.jupyterDesktop = 'viewer';
    const script = document.createElement('script');
    script.src = base + 'viewer.js';
    script.dataset.jupyterDesktop = 'viewer';
    viewerLib = Promise.all([loadElement(link, link.href), loadElement(script, script.src)])
      .then(() => {
        const lib = (window as unknown as { jupyterDesktop?: IViewerLib }).jupyterDesktop;
        if (!lib || typeof lib.mountViewer !== 'function') {
          throw new Error(`${script.src} did not define jupyterDesktop`);
        }
        if (lib.API_VERSION !== VIEWER_API) {
          throw new Error(
            `The server's desktop viewer (API ${lib.API_VERSION}) does not match this JupyterLab extension ` +
              `(API ${VIEWER_API}): reinstall jupyter_desktop and reload the page.`
          );
        }
        return lib;
      })
      .catch(error => {
        viewerLib = null; // the next tab tries again
        link.remove();
        script.remove();
        throw error;
      });
  }
  return viewerLib;
}

/** The UI's root's class while it lives in a Lab tab (the tab's node hosts it). */
const PANEL_CLASS = 'jp-DesktopPanel';

/**
 * A tab's content: a plain Lumino widget whose node hosts the server's viewer (a desktop id) or list (none).
 * Disposing it (the tab closes) closes the desktop's connection and stops the list's polling.
 */
export class DesktopPanel extends Widget {
  constructor(
    private readonly _baseUrl: string,
    private readonly _actions: { openViewer: (id: string) => void; openList: () => void }
  ) {
    super();
    this.addClass(PANEL_CLASS);
    this._host = document.createElement('div');
    this._host.className = 'jp-DesktopPanel-host';
    this.node.appendChild(this._host);
  }

  /** The desktop shown, or undefined for the list. */
  get desktopId(): string | undefined {
    return this._desktopId;
  }

  /** Load the bundle and mount the viewer of `desktopId` (or the list); resolves once it is mounted. */
  async mount(desktopId: string | undefined): Promise<void> {
    const lib = await loadViewerLib(this._baseUrl);
    if (this.isDisposed) {
      return;
    }
    this._mounted?.dispose();
    this._desktopId = desktopId;
    this._mounted = desktopId
      ? lib.mountViewer(this._host, {
          baseUrl: this._baseUrl,
          desktopId,
          embedded: true,
          openList: () => this._actions.openList()
        })
      : lib.mountList(this._host, {
          baseUrl: this._baseUrl,
          embedded: true,
          openViewer: id => this._actions.openViewer(id),
          isVisible: () => this.isVisible
        });
    if (this.isVisible && this.node.contains(document.activeElement)) {
      this._mounted.focus?.();
    }
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._mounted?.dispose();
    this._mounted = null;
    super.dispose();
  }

  /** The tab was activated: keys go to the desktop (once it is connected). */
  protected onActivateRequest(msg: Message): void {
    if (!this.node.contains(document.activeElement)) {
      this.node.focus();
    }
    this._mounted?.focus?.();
  }

  /** The tab is shown again: the list catches up at once (it does not poll while hidden). */
  protected onAfterShow(msg: Message): void {
    void this._mounted?.refresh?.();
  }

  private _host: HTMLDivElement;
  private _desktopId: string | undefined = undefined;
  private _mounted: IMounted | null = null;
}

/** The id of a tracked tab: `jupyter-desktop:list` or `jupyter-desktop:viewer:<id>`. */
function tabId(desktopId?: string): string {
  return desktopId ? `${NS}:viewer:${desktopId}` : `${NS}:list`;
}

function desktopIdOf(widget: Widget): string | undefined {
  const prefix = `${NS}:viewer:`;
  return widget.id.startsWith(prefix) ? widget.id.slice(prefix.length) : undefined;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function setupTab(widget: MainAreaWidget<DesktopPanel>, desktopId: string | undefined): void {
  widget.id = tabId(desktopId);
  widget.title.label = desktopId ? `Desktop ${desktopId}` : 'Desktops';
  widget.title.caption = desktopId ? `Linux desktop ${desktopId}` : 'Desktops on this server';
  widget.title.icon = desktopId ? desktopIcon : desktopsIcon;
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-desktop:plugin',
  description: 'Start live Linux desktops from the Launcher and open them in tabs.',
  autoStart: true,
  requires: [],
  optional: [ILauncher, ICommandPalette, ILayoutRestorer, IMainMenu, IDefaultFileBrowser],
  activate: (
    app: JupyterFrontEnd,
    launcher: ILauncher | null,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    mainMenu: IMainMenu | null,
    fileBrowser: IDefaultFileBrowser | null
  ): void => {
    const { commands, shell } = app;
    const baseUrl = PageConfig.getBaseUrl();
    const tracker = new WidgetTracker<MainAreaWidget<DesktopPanel>>({ namespace: NS });
    const actions = {
      openViewer: (id: string) => void open(id, false),
      openList: () => void open(undefined, false)
    };

    /**
     * A main-area tab for a desktop (or the list). `pending`: the desktop is being started; the tab shows
     * Lab's spinner until it is started and its viewer mounted (the caller then calls setupTab).
     */
    function createTab(desktopId: string | undefined, pending?: Promise<IDesktop>): MainAreaWidget<DesktopPanel> {
      const content = new DesktopPanel(baseUrl, actions);
      const reveal = pending ? pending.then(d => content.mount(d.id)) : content.mount(desktopId);
      const widget = new MainAreaWidget({ content, reveal });
      widget.addClass('jp-DesktopTab');
      widget.title.closable = true;
      if (!pending) {
        setupTab(widget, desktopId);
      }
      return widget;
    }

    /** Open the viewer (id) or the list (no id) in a Lab tab, or in `win` / a new browser tab. */
    function open(desktopId: string | undefined, newBrowserTab: boolean, win?: Window | null): Widget | undefined {
      const url = desktopId ? viewerUrl(baseUrl, desktopId) : listUrl(baseUrl);
      if (newBrowserTab) {
        if (win) {
          win.location.href = url;
        } else {
          window.open(url, '_blank');
        }
        return undefined;
      }
      let widget = tracker.find(w => w.id === tabId(desktopId));
      if (!widget) {
        widget = createTab(desktopId);
        void tracker.add(widget);
        shell.add(widget, 'main');
      }
      shell.activateById(widget.id);
      return widget;
    }

    commands.addCommand(CommandIDs.create, {
      label: args => (args['isLauncher'] ? 'Desktop' : 'New Desktop'),
      caption: 'Start a new Linux desktop and open it',
      icon: args => (args['isPalette'] ? undefined : desktopIcon),
      execute: async args => {
        const newBrowserTab = isNotebook7 || !!args['newBrowserTab'];
        const body: Record<string, unknown> = {};
        for (const key of ['profile', 'width', 'height']) {
          if (args[key] !== undefined && args[key] !== null && args[key] !== '') {
            body[key] = args[key];
          }
        }
        const created = createDesktop(body);
        if (newBrowserTab) {
          // A window opened after an await is a popup the browser may block: open it now, fill it in later.
          const win = window.open('', '_blank');
          if (win) {
            win.document.title = 'Starting a desktop…';
            win.document.body.textContent = 'Starting a desktop…';
          }
          try {
            const desktop = await created;
            return open(desktop.id, true, win);
          } catch (error) {
            win?.close();
            await showErrorMessage('Could not start a desktop', errorText(error));
            return undefined;
          }
        }
        // JupyterLab: the tab opens at once, with a spinner until the server has started the desktop.
        const widget = createTab(undefined, created);
        widget.title.label = 'Starting desktop…';
        widget.title.icon = desktopIcon;
        widget.revealed.catch(() => undefined);
        shell.add(widget, 'main');
        shell.activateById(widget.id);
        try {
          const desktop = await created;
          setupTab(widget, desktop.id);
          void tracker.add(widget);
          return widget;
        } catch (error) {
          widget.dispose();
          await showErrorMessage('Could not start a desktop', errorText(error));
          return undefined;
        }
      }
    });

    commands.addCommand(CommandIDs.open, {
      label: args => (args['id'] ? `Desktop ${args['id']}` : 'Desktops'),
      caption: 'Open a desktop (or the list of desktops)',
      icon: args => (args['id'] ? desktopIcon : desktopsIcon),
      execute: args => open((args['id'] as string) || undefined, isNotebook7 || !!args['newBrowserTab'])
    });

    commands.addCommand(CommandIDs.list, {
      label: 'Desktops',
      caption: 'List the desktops on this server: open, stop, restart, start new ones',
      icon: args => (args['isPalette'] ? undefined : desktopsIcon),
      execute: args => open(undefined, isNotebook7 || !!args['newBrowserTab'])
    });

    if (restorer) {
      void restorer.restore(tracker, {
        command: CommandIDs.open,
        args: widget => {
          const id = desktopIdOf(widget);
          return id ? { id } : {};
        },
        name: widget => widget.id
      });
    }

    if (launcher) {
      launcher.add({ command: CommandIDs.create, args: { isLauncher: true }, category: 'Other', rank: 1 });
      launcher.add({ command: CommandIDs.list, args: { isLauncher: true }, category: 'Other', rank: 2 });
    }

    if (palette) {
      palette.addItem({ command: CommandIDs.create, args: { isPalette: true }, category: 'Desktop' });
      palette.addItem({ command: CommandIDs.list, args: { isPalette: true }, category: 'Desktop' });
    }

    if (mainMenu) {
      mainMenu.fileMenu.newMenu.addGroup([{ command: CommandIDs.create }], 40);
    }

    if (notebookPage === 'tree' && fileBrowser) {
      addToNotebookNewMenu(app, fileBrowser);
    }
  }
};

/**
 * Notebook 7's file browser has a "New" dropdown, but no token to extend it: find its menu among the
 * toolbar's widgets (as jupyter-server-proxy does) and add "New Desktop". The toolbar gets its items after
 * the settings load, and Notebook rebuilds that menu when kernel specs change: check again whenever the
 * toolbar gains a widget and after kernel spec changes. Best effort: File > New has the command anyway.
 */
function addToNotebookNewMenu(app: JupyterFrontEnd, fileBrowser: IDefaultFileBrowser): void {
  const ensure = (): void => {
    try {
      const widgets = ((fileBrowser.toolbar.layout as any)?.widgets ?? []) as Widget[];
      for (const widget of widgets) {
        const menu = (widget as any)?.menus?.[0] as Menu | undefined;
        if (!menu || typeof menu.addItem !== 'function') {
          continue;
        }
        if (!menu.items.some(item => item.command === CommandIDs.create)) {
          menu.addItem({ type: 'separator' });
          menu.addItem({ command: CommandIDs.create });
        }
      }
    } catch (error) {
      console.debug('jupyter-desktop: could not extend the New menu', error);
    }
  };
  ensure();
  MessageLoop.installMessageHook(fileBrowser.toolbar, (_: unknown, msg: Message) => {
    if (msg.type === 'child-added') {
      setTimeout(ensure, 0);
    }
    return true;
  });
  app.serviceManager.kernelspecs?.specsChanged.connect(() => setTimeout(ensure, 0));
  void app.restored.then(ensure);
}

export default plugin;
