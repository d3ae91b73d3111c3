import { useState } from 'preact/hooks';
import { downloadFile, listDir, type SandboxAccess } from '../api/envd.js';
import { formatBytes } from '../model/format.js';
import { entryKind, entrySize, joinPath, parentPath, sortEntries } from '../model/paths.js';
import { ErrorLine, Section } from './bits.js';
import { usePoll } from './use-poll.js';

const START_DIR = '/home/user';

/**
 * Saves a sandbox's file through a temporary `blob:` link. The blob is typed as plain bytes
 * whatever the sandbox answered: a `blob:` URL has the dashboard's origin, and HTML from a sandbox
 * must never render there.
 */
function saveBlob(blob: Blob, name: string) {
  const url = URL.createObjectURL(new Blob([blob], { type: 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** Directories of the sandbox (envd ListDir) and downloads of its files (envd `/files`). */
export function FilesPanel({ access }: { access: SandboxAccess }) {
  const [dir, setDir] = useState(START_DIR);
  const [typed, setTyped] = useState(START_DIR);
  const [downloading, setDownloading] = useState<string | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const polled = usePoll((signal) => listDir(access, dir, { signal }), 0, [access.sandboxId, access.accessToken, dir]);
  const go = (path: string) => {
    if (path === dir) polled.refresh();
    setDir(path);
    setTyped(path);
    setError(undefined);
  };
  const download = async (path: string, name: string) => {
    setDownloading(path);
    setError(undefined);
    try {
      saveBlob(await downloadFile(access, path), name);
    } catch (err) {
      setError(err);
    } finally {
      setDownloading(undefined);
    }
  };
  return (
    <Section title="Files" id="files">
      <form
        class="path"
        onSubmit={(e) => {
          e.preventDefault();
          go(typed.trim() || '/');
        }}
      >
        <button type="button" class="secondary" disabled={dir === '/'} onClick={() => go(parentPath(dir))} title="Parent directory">
          ↑
        </button>
        <input aria-label="Directory" value={typed} onInput={(e) => setTyped(e.currentTarget.value)} spellcheck={false} data-testid="files-path" />
        <button type="submit" class="secondary">
          Open
        </button>
        <button type="button" class="secondary" onClick={() => polled.refresh()}>
          Refresh
        </button>
      </form>
      <ErrorLine error={error ?? polled.error} />
      {polled.data !== undefined && (
        <table class="list" data-testid="files" data-dir={dir}>
          <thead>
            <tr>
              <th>Name</th>
              <th class="num">Size</th>
              <th>Permissions</th>
              <th>Owner</th>
              <th>Modified</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {polled.data.length === 0 && (
              <tr>
                <td colSpan={6} class="muted">
                  Empty directory.
                </td>
              </tr>
            )}
            {sortEntries(polled.data).map((entry) => {
              const kind = entryKind(entry);
              const path = entry.path || joinPath(dir, entry.name);
              const size = entrySize(entry);
              return (
                <tr key={path} data-file={entry.name} data-kind={kind}>
                  <td class="mono">
                    {kind === 'dir' ? (
                      <a href="#" onClick={(e) => (e.preventDefault(), go(path))}>
                        {entry.name}/
                      </a>
                    ) : (
                      <>
                        {entry.name}
                        {entry.symlinkTarget ? <span class="muted"> → {entry.symlinkTarget}</span> : null}
                      </>
                    )}
                  </td>
                  <td class="num">{kind === 'dir' || size === undefined ? '' : formatBytes(size)}</td>
                  <td class="mono">{entry.permissions ?? ''}</td>
                  <td>{entry.owner ?? ''}</td>
                  <td>{entry.modifiedTime ? new Date(entry.modifiedTime).toLocaleString() : ''}</td>
                  <td>
                    {kind === 'file' && (
                      <button type="button" class="secondary small" data-testid="download" disabled={downloading === path} onClick={() => void download(path, entry.name)}>
                        {downloading === path ? 'Downloading…' : 'Download'}
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </Section>
  );
}
