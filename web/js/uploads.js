// POST /v1/uploads: a chosen file, base64 in JSON (the API takes up to 5 MB), answered with
// {id, url, type, filename, size}; the url goes into a message's attachments.

export const MAX_UPLOAD_BYTES = 5 * 1024 * 1024;
const CONTENT_TYPE = /^[a-z]+\/[a-z0-9.+-]+$/;

function base64Of(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.addEventListener('load', () => resolve(String(reader.result).split(',', 2)[1] || ''));
    reader.addEventListener('error', () => reject(reader.error));
    reader.readAsDataURL(file);
  });
}

export async function uploadFile(api, file) {
  const type = (file.type || '').toLowerCase().split(';')[0].trim();
  return api.post('/v1/uploads', {
    filename: file.name || 'file',
    content_type: CONTENT_TYPE.test(type) ? type : 'application/octet-stream',
    data: await base64Of(file),
  });
}
