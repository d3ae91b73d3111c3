import type { ApiClient, CallOptions } from './client.js';
import type { Template, TemplateBuildInfo, TemplateWithBuilds } from './types.js';

const id = (value: string) => encodeURIComponent(value);

export const listTemplates = (api: ApiClient, options?: CallOptions) => api.json<Template[]>('/templates', options);

export const getTemplate = (api: ApiClient, templateId: string, options?: CallOptions) =>
  api.json<TemplateWithBuilds>(`/templates/${id(templateId)}`, options);

/** A build's status and its log lines from `logsOffset` on. */
export const buildStatus = (api: ApiClient, templateId: string, buildId: string, logsOffset: number, options?: CallOptions) =>
  api.json<TemplateBuildInfo>(`/templates/${id(templateId)}/builds/${id(buildId)}/status?logsOffset=${logsOffset}`, options);

