import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  removeStaleTemporaries,
  writeFolderAtomically,
  writeTextFileAtomically
} from '../../../src-main/engine/checkpoint/atomic-write'
import { INJECTED_FAULT_ENV } from '../../../src-main/engine/checkpoint/injected-faults'
import { deadPid } from '../../helpers/processes'
import { makeTempDir } from '../../store/helpers'

afterEach(() => {
  delete process.env[INJECTED_FAULT_ENV]
})

describe('atomic writes', () => {
  it('a failed write names the file, and leaves neither it nor a temporary behind', () => {
    const dir = makeTempDir()
    const path = join(dir, 'scores.jsonl')
    process.env[INJECTED_FAULT_ENV] = 'enospc:scores.jsonl'
    expect(() => writeTextFileAtomically(path, 'data\n')).toThrow(
      expect.objectContaining({
        code: 'ENOSPC',
        message: `cannot write ${path}: ENOSPC: no space left on device, write`
      })
    )
    expect(readdirSync(dir)).toEqual([])
  })

  it('with replace false, refuses a file that exists by the time it is published', () => {
    const dir = makeTempDir()
    const path = join(dir, 'out.jsonl')
    writeFileSync(path, 'mine\n')
    expect(() => writeTextFileAtomically(path, 'new\n', { replace: false })).toThrow(
      expect.objectContaining({ code: 'EEXIST' })
    )
    expect(readFileSync(path, 'utf8')).toBe('mine\n')
    expect(readdirSync(dir)).toEqual(['out.jsonl'])
    writeTextFileAtomically(join(dir, 'fresh.jsonl'), 'new\n', { replace: false })
    expect(readFileSync(join(dir, 'fresh.jsonl'), 'utf8')).toBe('new\n')
  })

  it('writeFolderAtomically replaces a folder whole, and removes its temporary on failure', () => {
    const dir = join(makeTempDir(), 'merged')
    writeFolderAtomically(dir, (temporary) => writeFileSync(join(temporary, 'a.txt'), 'one'))
    expect(() =>
      writeFolderAtomically(dir, (temporary) => {
        writeFileSync(join(temporary, 'b.txt'), 'two')
        throw new Error('the export failed')
      })
    ).toThrow('the export failed')
    expect(readdirSync(join(dir, '..'))).toEqual(['merged'])
    expect(readdirSync(dir)).toEqual(['a.txt'])
  })
})

describe('removeStaleTemporaries', () => {
  it("removes dead writers' temporaries only, and puts back a folder moved aside", () => {
    const dir = makeTempDir()
    const dead = deadPid()
    const names = {
      deadFile: `.out.jsonl.${dead}.0123abcd.tmp`,
      deadOther: `.other.jsonl.${dead}.0123abcd.tmp`,
      liveFile: `.out.jsonl.${process.pid}.0123abcd.tmp`,
      asideStep: `.step-10.${dead}.89abcdef.tmp.old`,
      unrelated: '.out.jsonl.tmp'
    }
    for (const name of [names.deadFile, names.deadOther, names.liveFile, names.unrelated])
      writeFileSync(join(dir, name), 'x')
    mkdirSync(join(dir, names.asideStep))

    expect(removeStaleTemporaries(dir, { of: 'out.jsonl' })).toEqual([join(dir, names.deadFile)])
    expect(existsSync(join(dir, names.deadOther))).toBe(true)

    removeStaleTemporaries(dir)
    expect(readdirSync(dir).sort()).toEqual([names.liveFile, names.unrelated, 'step-10'].sort())
  })
})
