// labkit-run-all: "Run > Run All Cells" runs every cell even while the
// notebook's kernel is still starting.
//
// Why this exists: JupyterLab 4.6's default cell executor, runCell() in
// @jupyterlab/notebook (packages/notebook/src/cellexecutor.ts), is called by
// NotebookActions.runAll() for all cells at once (Promise.all) and does
//   if (sessionContext.hasNoKernel) await sessionContext.startKernel() ...
//   CodeCell.execute(cell, sessionContext)
// CodeCell.execute() (packages/cells/src/widget.ts) silently clears a cell
// and returns when `sessionContext.session?.kernel` is null. So while a
// kernel is starting, every cell but at most the first is dropped (stays
// `[ ]`). That happens when Run All comes during the notebook's own
// SessionContext start-up (SessionContext.initialize() in
// packages/apputils/src/sessioncontext.tsx), and there the first cell's
// startKernel() also starts a second session next to the notebook's own; one
// of them is shut down again (two "Kernel started" lines, a 500 on the dead
// kernel's websocket, sometimes no kernel left). It also happens for Run All
// right after the kernel was shut down: the first cell starts a kernel, the
// others are dropped.
//
// So a code cell that finds no kernel while one is being started (JupyterLab
// shows "initializing" for exactly that state) first waits until the kernel
// exists, at most WAIT_MS (a notebook whose kernel must be picked in a
// dialog still gets that dialog), and then goes through JupyterLab's own
// runCell(). With a kernel present nothing waits.
//
// It replaces the plugin "@jupyterlab/notebook-extension:cell-executor"
// (disabled through "disabledExtensions" in package.json): JupyterLab accepts
// one INotebookCellExecutor only.
import { INotebookCellExecutor, runCell } from '@jupyterlab/notebook';

const WAIT_MS = 30000;
const POLL_MS = 50;

// One wait per session context, shared by its waiting cells so that they go
// on in their notebook order. It polls with setTimeout rather than listening
// to signals: a cell that is itself starting the kernel (the first one after
// a shutdown) then sends its request before the waiting cells.
const waits = new WeakMap();

function kernelStarted(sessionContext) {
  let wait = waits.get(sessionContext);
  if (!wait) {
    const end = Date.now() + WAIT_MS;
    wait = new Promise(resolve => {
      const check = () => {
        if (!starting(sessionContext) || Date.now() > end) {
          waits.delete(sessionContext);
          resolve();
        } else {
          setTimeout(check, POLL_MS);
        }
      };
      setTimeout(check, POLL_MS);
    });
    waits.set(sessionContext, wait);
  }
  return wait;
}

function starting(sessionContext) {
  return (
    !sessionContext.isDisposed &&
    !sessionContext.session?.kernel &&
    sessionContext.kernelDisplayStatus === 'initializing'
  );
}

async function runCellOnceKernelStarted(options) {
  const sessionContext = options.sessionContext;
  if (options.cell.model.type === 'code' && sessionContext && starting(sessionContext)) {
    await kernelStarted(sessionContext);
  }
  return runCell(options);
}

export default {
  id: 'labkit-run-all:cell-executor',
  description: 'Notebook cell executor that waits for a starting kernel instead of dropping the cell.',
  autoStart: true,
  provides: INotebookCellExecutor,
  activate: () => Object.freeze({ runCell: runCellOnceKernelStarted })
};
