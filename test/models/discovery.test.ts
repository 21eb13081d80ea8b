import { chmodSync, copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { discoverModels } from '../../src-main/models/discovery'
import { hfHubCacheDir, hfSnapshotOf, repoIdOfCacheFolder } from '../../src-main/models/hf-cache'
import { addCachedModel, revisionOf, STORIES_FILES } from '../helpers/fake-hf-cache'
import { STORIES_260K, tempDir } from '../helpers/temp'

const RUNS_AS_ROOT = process.getuid?.() === 0

function storiesCopy(folder: string): string {
  mkdirSync(folder, { recursive: true })
  for (const file of STORIES_FILES) copyFileSync(join(STORIES_260K, file), join(folder, file))
  return folder
}

describe('the HF cache layout', () => {
  it('finds the cache as huggingface_hub does', () => {
    expect(hfHubCacheDir({ HF_HUB_CACHE: '/a/hub', HF_HOME: '/b' })).toBe('/a/hub')
    expect(hfHubCacheDir({ HF_HOME: '/b' })).toBe('/b/hub')
    expect(hfHubCacheDir({ XDG_CACHE_HOME: '/c' })).toBe('/c/huggingface/hub')
  })

  it('reads repository ids from folder names and refuses foreign ones', () => {
    expect(repoIdOfCacheFolder('models--Qwen--Qwen3-0.6B')).toBe('Qwen/Qwen3-0.6B')
    expect(repoIdOfCacheFolder('models--gpt2')).toBe('gpt2')
    expect(repoIdOfCacheFolder('models--a b--c')).toBeNull()
    expect(repoIdOfCacheFolder('models--a--b--c')).toBeNull()
    expect(repoIdOfCacheFolder('datasets--a--b')).toBeNull()
    expect(hfSnapshotOf('/h/models--a--b/snapshots/abc123')).toEqual({ repoId: 'a/b', revision: 'abc123' })
    expect(hfSnapshotOf('/h/models--a--b/abc123')).toBeNull()
  })
})

describe('discoverModels on a fake HF cache and watched folders', () => {
  const dir = tempDir()
  afterAll(() => {
    chmodSync(join(dir.dir, 'watched', 'locked'), 0o755)
    dir.cleanup()
  })
  const hub = join(dir.dir, 'hub')
  const [oldSnapshot, currentSnapshot] = addCachedModel(hub, 'acme/tiny', ['v1', 'v2'])

  // A snapshot whose config.json links to a blob that was never written.
  const broken = join(hub, 'models--acme--broken', 'snapshots', revisionOf('b'))
  mkdirSync(broken, { recursive: true })
  symlinkSync('../../blobs/missing', join(broken, 'config.json'))
  copyFileSync(join(STORIES_260K, 'model.safetensors'), join(broken, 'model.safetensors'))
  // Foreign names, and a repository of another kind.
  mkdirSync(join(hub, 'models--a b--c', 'snapshots', 'r'), { recursive: true })
  mkdirSync(join(hub, 'models--acme--odd', 'snapshots', 'rev\nx'), { recursive: true })
  mkdirSync(join(hub, 'datasets--acme--data', 'snapshots', 'r'), { recursive: true })
  // A repository with config.json but PyTorch weights only.
  const binOnly = join(hub, 'models--acme--bin', 'snapshots', 'r1')
  mkdirSync(binOnly, { recursive: true })
  copyFileSync(join(STORIES_260K, 'config.json'), join(binOnly, 'config.json'))
  writeFileSync(join(binOnly, 'pytorch_model.bin'), 'x')

  const watched = join(dir.dir, 'watched')
  const nested = storiesCopy(join(watched, 'org', 'story-model'))
  storiesCopy(join(watched, 'too', 'deep', 'model')) // three levels below: not looked at
  const hugeConfig = storiesCopy(join(watched, 'huge'))
  writeFileSync(join(hugeConfig, 'config.json'), `{"pad": "${'x'.repeat(2 << 20)}"}`)
  const wrongConfig = storiesCopy(join(watched, 'wrong'))
  writeFileSync(
    join(wrongConfig, 'config.json'),
    JSON.stringify({
      architectures: ['LlamaForCausalLM'],
      vocab_size: 512,
      hidden_size: 64,
      intermediate_size: 172,
      num_hidden_layers: 2,
      num_attention_heads: 8,
      num_key_value_heads: 4,
      max_position_embeddings: 512
    })
  )
  symlinkSync(watched, join(watched, 'org', 'back-to-root'))
  symlinkSync(join(watched, 'loop-b'), join(watched, 'loop-a'))
  symlinkSync(join(watched, 'loop-a'), join(watched, 'loop-b'))
  mkdirSync(join(watched, 'bad\u0007name'))
  mkdirSync(join(watched, 'locked'))
  chmodSync(join(watched, 'locked'), 0o000)

  const found = discoverModels({ hfCacheDir: hub, folders: [watched, join(dir.dir, 'gone')] })
  const byPath = new Map(found.models.map((m) => [m.path, m]))
  const reasonFor = (path: string): string | undefined => found.skipped.find((s) => s.path === path)?.reason

  it('lists both snapshots of the cached repository, marking the one refs/main names', () => {
    expect(byPath.get(currentSnapshot)).toEqual({
      name: `acme/tiny@${revisionOf('v2').slice(0, 7)}`,
      path: currentSnapshot,
      source: { kind: 'hf-cache', repoId: 'acme/tiny', revision: revisionOf('v2'), current: true },
      architecture: 'LlamaForCausalLM',
      parameterCount: 260_032,
      dtype: 'F32',
      // The links are followed: the blobs' bytes, not the links'.
      sizeBytes: 1_045_368 + 526 + 10_614 + 268,
      trainsHere: true,
      problems: [],
      registeredModelId: null
    })
    expect(byPath.get(oldSnapshot)?.source).toMatchObject({ current: false })
  })

  it('finds a model two levels below a watched folder, not three', () => {
    expect(byPath.get(nested)).toMatchObject({
      name: 'story-model',
      source: { kind: 'folder', root: watched },
      trainsHere: true
    })
    expect(byPath.has(join(watched, 'too', 'deep', 'model'))).toBe(false)
  })

  it('lists a model whose weights do not match its config, as not training here and why', () => {
    const model = byPath.get(wrongConfig)!
    expect(model.trainsHere).toBe(false)
    expect(model.problems.join('\n')).toContain('the weights do not match config.json')
  })

  it('skips hostile entries with a reason each, and never throws', () => {
    expect(found.models.map((m) => m.path).sort()).toEqual(
      [currentSnapshot, oldSnapshot, nested, wrongConfig].sort()
    )
    expect(reasonFor(broken)).toBe('no config.json (or a broken link to it)')
    expect(reasonFor(join(hub, 'models--a b--c'))).toContain('is not a models--org--name folder')
    expect(reasonFor(join(hub, 'models--acme--odd', 'snapshots', 'rev\nx'))).toContain(
      'is not a revision name'
    )
    expect(reasonFor(binOnly)).toContain('only safetensors weights load')
    expect(reasonFor(hugeConfig)).toContain('a model config may have')
    expect(reasonFor(join(watched, 'org', 'back-to-root'))).toContain(
      'the same folder as one already looked at'
    )
    expect(reasonFor(join(watched, 'loop-a'))).toMatch(/cannot follow the path: .*ELOOP/)
    expect(reasonFor(join(watched, 'bad\u0007name'))).toContain('holds control characters')
    expect(found.skipped.some((s) => s.path.includes('datasets--'))).toBe(false)
  })

  it.skipIf(RUNS_AS_ROOT)('skips a folder it may not list', () => {
    expect(reasonFor(join(watched, 'locked'))).toMatch(/cannot list the folder: .*EACCES/)
  })

  it('reports the roots, a missing one as such', () => {
    expect(found.roots).toEqual([
      { path: hub, kind: 'hf-cache', exists: true },
      { path: watched, kind: 'folder', exists: true },
      { path: join(dir.dir, 'gone'), kind: 'folder', exists: false }
    ])
  })
})
