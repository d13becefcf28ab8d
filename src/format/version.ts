// The recall version stamped into manifests and transform-cache keys.
export const RECALL_VERSION = '0.1.0';
