export * from './base64.js';
export * from './http.js';
export * from './permessage-deflate.js';
export * from './sha1.js';
