export * from './base64.js';
export * from './close.js';
export * from './frames.js';
export * from './http.js';
export * from './permessage-deflate.js';
export * from './sha1.js';
export * from './text.js';
export * from './utf8.js';
