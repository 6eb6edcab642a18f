/**
 * Model artifacts in an S3-compatible bucket (AWS S3, MinIO, R2…): `<prefix>/<key>/<file>`, each
 * object carrying its sha256 as metadata, so publishing skips what is already there. Credentials
 * come from the AWS SDK's usual chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a profile, an
 * instance role); a custom endpoint (ZKINFER_S3_ENDPOINT) is addressed path-style, as MinIO wants.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { ZkError } from '../core/errors.js';
import type { ArtifactSourceConfig } from '../service/config.js';
import type { ArtifactManifest, ArtifactSource } from './artifacts.js';

type S3Config = Extract<ArtifactSourceConfig, { kind: 's3' }>;

const isMissing = (e: unknown) => e instanceof S3ServiceException && (e.$metadata.httpStatusCode === 404 || e.name === 'NotFound' || e.name === 'NoSuchKey');

export class S3Source implements ArtifactSource {
  private readonly client: S3Client;

  constructor(private readonly config: S3Config) {
    this.client = new S3Client({
      region: config.region,
      ...(config.endpoint ? { endpoint: config.endpoint, forcePathStyle: true } : {}),
      // The SDK's default CRC checksums (aws-chunked uploads) are not understood by every
      // S3-compatible store; files are checked against the manifest's sha256 anyway.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  private objectKey(key: string, rel: string): string {
    return [this.config.prefix, key, rel].filter(Boolean).join('/');
  }

  async publish(key: string, dir: string, manifest: ArtifactManifest): Promise<void> {
    const Bucket = this.config.bucket;
    for (const [rel, { sha256, bytes }] of Object.entries(manifest.files)) {
      const Key = this.objectKey(key, rel);
      const existing = await this.client.send(new HeadObjectCommand({ Bucket, Key })).catch((e) => {
        if (isMissing(e)) return undefined;
        throw e;
      });
      if (existing?.Metadata?.sha256 === sha256) continue;
      await this.client.send(new PutObjectCommand({ Bucket, Key, Body: createReadStream(join(dir, rel)), ContentLength: bytes, Metadata: { sha256 } }));
    }
  }

  async download(key: string, rel: string, dest: string): Promise<void> {
    const Key = this.objectKey(key, rel);
    const object = await this.client.send(new GetObjectCommand({ Bucket: this.config.bucket, Key })).catch((e) => {
      if (isMissing(e)) throw new ZkError('ARTIFACT_MISSING', `s3://${this.config.bucket}/${Key} does not exist`, { key, file: rel });
      throw e;
    });
    await pipeline(object.Body as Readable, createWriteStream(dest));
  }
}
