import { rename, realpath, rm, stat, statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { HandlerContext, ServiceImpl } from '@connectrpc/connect';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { ErrorCode, EventType, SandboxdError } from '@sandboxd/protocol';
import type { EntryInfoSchema, Filesystem, FilesystemEventSchema } from '@sandboxd/protocol';
import { EventChannel } from '../../lib/event-channel.js';
import { describeEntry, entryInfo } from '../../files/entry-info.js';
import type { EntryData } from '../../files/entry-info.js';
import { ensureDirs } from '../../files/ensure-dirs.js';
import { listDir } from '../../files/list-dir.js';
import { watchDirectory } from '../../files/dir-watcher.js';
import type { DirChange } from '../../files/dir-watcher.js';
import { PathResolveError, resolveUserPath } from '../../users/resolve-path.js';
import type { UserInfo } from '../../users/user-db.js';
import type { EnvdDeps } from '../deps.js';
import { requestUser } from '../request-user.js';
import { rpc, toConnectError } from './errors.js';
import { keepaliveMs } from './keepalive.js';

type EntryInit = MessageInitShape<typeof EntryInfoSchema>;
type FsEventInit = MessageInitShape<typeof FilesystemEventSchema>;

/** EntryData → EntryInfo message init. */
export function toEntryMessage(e: EntryData): EntryInit {
  return {
    name: e.name,
    type: e.type,
    path: e.path,
    size: e.size,
    mode: e.mode,
    permissions: e.permissions,
    owner: e.owner,
    group: e.group,
    modifiedTime: e.modifiedTime,
    ...(e.symlinkTarget !== undefined ? { symlinkTarget: e.symlinkTarget } : {}),
    metadata: e.metadata,
  };
}

const errnoOf = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | undefined)?.code;

/** Magic numbers of NFS, CIFS, SMB, SMB2 and FUSE (linux/magic.h), which envd refuses to watch. */
const NETWORK_FS = new Set([0x6969, 0xff534d42, 0x517b, 0xfe534d42, 0x65735546]);

export function createFilesystemService(deps: EnvdDeps): ServiceImpl<typeof Filesystem> {
  const user = (ctx: HandlerContext): UserInfo =>
    requestUser(ctx.requestHeader.get('authorization'), deps.users, deps.config.defaultUser);
  const resolve = (path: string, u: UserInfo): string => {
    if (path.includes('\0')) throw new SandboxdError(ErrorCode.BAD_REQUEST, 'invalid path: contains a NUL byte');
    try {
      return resolveUserPath(path, u);
    } catch (err) {
      if (err instanceof PathResolveError) throw new SandboxdError(ErrorCode.BAD_REQUEST, err.message);
      throw err;
    }
  };
  const entryOrNotFound = async (path: string): Promise<EntryInit> => {
    try {
      return toEntryMessage(await entryInfo(path, deps));
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') throw new SandboxdError(ErrorCode.NOT_FOUND, `file not found: ${(err as Error).message}`);
      throw new SandboxdError(ErrorCode.INTERNAL, `error getting file info: ${(err as Error).message}`);
    }
  };

  /** Validates a directory to watch: exists, is a directory, not a network mount unless allowed. */
  const watchTarget = async (ctx: HandlerContext, path: string, allowNetworkMounts: boolean): Promise<string> => {
    const dir = resolve(path, user(ctx));
    const st = await stat(dir).catch((err: unknown) => {
      if (errnoOf(err) === 'ENOENT') throw new SandboxdError(ErrorCode.NOT_FOUND, `path ${dir} not found`);
      throw new SandboxdError(ErrorCode.INTERNAL, `error statting path ${dir}: ${(err as Error).message}`);
    });
    if (!st.isDirectory()) throw new SandboxdError(ErrorCode.BAD_REQUEST, `path ${dir} not a directory`);
    if (!allowNetworkMounts) {
      const fs = await statfs(dir).catch(() => undefined);
      if (fs && NETWORK_FS.has(fs.type)) {
        throw new SandboxdError(ErrorCode.BAD_REQUEST, `cannot watch path on network filesystem: ${dir}`);
      }
    }
    return dir;
  };

  const toFsEvent = async (change: DirChange, includeEntry: boolean): Promise<FsEventInit> => {
    const ev: FsEventInit = { name: change.name, type: change.type };
    const wantsEntry = change.type === EventType.CREATE || change.type === EventType.WRITE || change.type === EventType.CHMOD;
    if (includeEntry && wantsEntry) {
      const entry = await describeEntry(change.fullPath, deps).catch(() => undefined);
      if (entry) ev.entry = toEntryMessage(entry);
    }
    return ev;
  };

  return {
    stat: (req, ctx) => rpc(async () => ({ entry: await entryOrNotFound(resolve(req.path, user(ctx))) })),

    makeDir: (req, ctx) =>
      rpc(async () => {
        const u = user(ctx);
        const dir = resolve(req.path, u);
        const st = await stat(dir).catch((err: unknown) => {
          if (errnoOf(err) === 'ENOENT') return undefined;
          throw new SandboxdError(ErrorCode.INTERNAL, `error getting file info: ${(err as Error).message}`);
        });
        if (st?.isDirectory()) throw new SandboxdError(ErrorCode.CONFLICT, `directory already exists: ${dir}`);
        if (st) throw new SandboxdError(ErrorCode.BAD_REQUEST, `path already exists but it is not a directory: ${dir}`);
        await ensureDirs(dir, u.uid, u.gid);
        return { entry: await entryOrNotFound(dir) };
      }),

    move: (req, ctx) =>
      rpc(async () => {
        const u = user(ctx);
        const source = resolve(req.source, u);
        const destination = resolve(req.destination, u);
        await ensureDirs(dirname(destination), u.uid, u.gid);
        try {
          await rename(source, destination);
        } catch (err) {
          if (errnoOf(err) === 'ENOENT') throw new SandboxdError(ErrorCode.NOT_FOUND, `source file not found: ${(err as Error).message}`);
          throw new SandboxdError(ErrorCode.INTERNAL, `error renaming: ${(err as Error).message}`);
        }
        return { entry: await entryOrNotFound(destination) };
      }),

    listDir: (req, ctx) =>
      rpc(async () => {
        const depth = req.depth === 0 ? 1 : req.depth;
        const requested = resolve(req.path, user(ctx));
        const resolved = await realpath(requested).catch((err: unknown) => {
          if (errnoOf(err) === 'ENOENT') throw new SandboxdError(ErrorCode.NOT_FOUND, `path not found: ${(err as Error).message}`);
          if (errnoOf(err) === 'ELOOP') throw new SandboxdError(ErrorCode.FAILED_PRECONDITION, `cyclic symlink or chain >255 links at "${requested}"`);
          throw new SandboxdError(ErrorCode.INTERNAL, `error resolving symlink: ${(err as Error).message}`);
        });
        const st = await stat(resolved);
        if (!st.isDirectory()) throw new SandboxdError(ErrorCode.BAD_REQUEST, `path is not a directory: ${requested}`);
        try {
          const entries = await listDir(requested, resolved, depth, deps);
          return { entries: entries.map(toEntryMessage) };
        } catch (err) {
          throw new SandboxdError(ErrorCode.INTERNAL, `error reading directory ${resolved}: ${(err as Error).message}`);
        }
      }),

    remove: (req, ctx) =>
      rpc(async () => {
        const path = resolve(req.path, user(ctx));
        try {
          await rm(path, { recursive: true, force: true });
        } catch (err) {
          throw new SandboxdError(ErrorCode.INTERNAL, `error removing file or directory: ${(err as Error).message}`);
        }
        return {};
      }),

    async *watchDir(req, ctx) {
      const dir = await rpc(() => watchTarget(ctx, req.path, req.allowNetworkMounts));
      const channel = new EventChannel<DirChange | Error>();
      const watcher = await rpc(() =>
        watchDirectory(dir, req.recursive, (c) => channel.push(c), (err) => channel.push(err)).catch((err: unknown) => {
          throw new SandboxdError(ErrorCode.INTERNAL, `error adding path ${dir} to watcher: ${(err as Error).message}`);
        }),
      );
      const idleMs = keepaliveMs(ctx);
      try {
        yield { event: { case: 'start', value: {} } };
        for (;;) {
          const r = await channel.take({ signal: ctx.signal, idleMs });
          if (r.kind === 'closed') return;
          if (r.kind === 'idle') {
            yield { event: { case: 'keepalive', value: {} } };
            continue;
          }
          if (r.item instanceof Error) throw new SandboxdError(ErrorCode.INTERNAL, `watcher error: ${r.item.message}`);
          yield { event: { case: 'filesystem', value: await toFsEvent(r.item, req.includeEntry) } };
        }
      } catch (err) {
        throw toConnectError(err);
      } finally {
        watcher.close();
      }
    },

    createWatcher: (req, ctx) =>
      rpc(async () => {
        const dir = await watchTarget(ctx, req.path, req.allowNetworkMounts);
        return { watcherId: await deps.watchers.create(dir, req.recursive, req.includeEntry) };
      }),

    getWatcherEvents: (req) =>
      rpc(async () => {
        const { changes, includeEntry } = deps.watchers.take(req.watcherId);
        return { events: await Promise.all(changes.map((c) => toFsEvent(c, includeEntry))) };
      }),

    removeWatcher: (req) =>
      rpc(() => {
        deps.watchers.remove(req.watcherId);
        return {};
      }),
  };
}

