import { isNotAvailable } from './api-error.js';
import type { ApiClient, CallOptions } from './client.js';
import type { Template, TemplateBuildInfo, TemplateWithBuilds } from './types.js';

const id = (value: string) => encodeURIComponent(value);

export const listTemplates = (api: ApiClient, options?: CallOptions) => api.json<Template[]>('/templates', options);

export const getTemplate = (api: ApiClient, templateId: string, options?: CallOptions) =>
  api.json<TemplateWithBuilds>(`/templates/${id(templateId)}`, options);

/**
 * A template with its builds: `GET /templates/{id}` (E2B's `TemplateWithBuilds`), or, on a daemon
 * without that route, the template's entry of `GET /templates` with its latest build alone.
 */
export async function templateWithBuilds(api: ApiClient, templateId: string, options?: CallOptions): Promise<TemplateWithBuilds> {
  try {
    return await getTemplate(api, templateId, options);
  } catch (error) {
    if (!isNotAvailable(error)) throw error;
    const listed = (await listTemplates(api, options).catch(() => [])).find((t) => t.templateID === templateId);
    if (listed === undefined) throw error;
    const latest = listed.buildID === undefined ? [] : [{ buildID: listed.buildID, status: listed.buildStatus ?? 'unknown', ...(listed.updatedAt !== undefined ? { createdAt: listed.updatedAt } : {}) }];
    return { ...listed, builds: latest };
  }
}

/** A build's status and its log lines from `logsOffset` on. */
export const buildStatus = (api: ApiClient, templateId: string, buildId: string, logsOffset: number, options?: CallOptions) =>
  api.json<TemplateBuildInfo>(`/templates/${id(templateId)}/builds/${id(buildId)}/status?logsOffset=${logsOffset}`, options);
