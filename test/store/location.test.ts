import { describe, expect, it } from 'vitest'
import { DATABASE_FILE, resolveStoreDir } from '../../src-main/store/location'

describe('resolveStoreDir', () => {
  const env = {
    FINETUNE_STUDIO_HOME: '/env/store',
    XDG_DATA_HOME: '/xdg',
    APPDATA: 'C:\\Users\\ada\\AppData\\Roaming'
  }

  it('prefers --store over the environment, made absolute against cwd', () => {
    expect(
      resolveStoreDir({ flag: 'rel/store', env, platform: 'linux', homedir: '/home/ada', cwd: '/work' })
    ).toEqual({
      dir: '/work/rel/store',
      source: 'flag'
    })
  })

  it('uses FINETUNE_STUDIO_HOME when no flag is given', () => {
    expect(resolveStoreDir({ env, platform: 'linux', homedir: '/home/ada', cwd: '/work' })).toEqual({
      dir: '/env/store',
      source: 'env'
    })
    expect(
      resolveStoreDir({ flag: '', env: { FINETUNE_STUDIO_HOME: 'here' }, platform: 'linux', cwd: '/w' })
    ).toEqual({ dir: '/w/here', source: 'env' })
  })

  it('defaults on linux to $XDG_DATA_HOME/finetune-studio, else ~/.local/share/finetune-studio', () => {
    expect(
      resolveStoreDir({ env: { XDG_DATA_HOME: '/xdg' }, platform: 'linux', homedir: '/home/ada' })
    ).toEqual({
      dir: '/xdg/finetune-studio',
      source: 'default'
    })
    expect(resolveStoreDir({ env: {}, platform: 'linux', homedir: '/home/ada' }).dir).toBe(
      '/home/ada/.local/share/finetune-studio'
    )
    // The XDG spec says to ignore a relative XDG_DATA_HOME.
    expect(
      resolveStoreDir({ env: { XDG_DATA_HOME: 'rel' }, platform: 'linux', homedir: '/home/ada' }).dir
    ).toBe('/home/ada/.local/share/finetune-studio')
  })

  it('defaults on darwin to ~/Library/Application Support/Finetune Studio', () => {
    expect(
      resolveStoreDir({ env: { XDG_DATA_HOME: '/xdg' }, platform: 'darwin', homedir: '/Users/ada' })
    ).toEqual({
      dir: '/Users/ada/Library/Application Support/Finetune Studio',
      source: 'default'
    })
  })

  it('defaults on win32 to %APPDATA%\\Finetune Studio, else the roaming folder under home', () => {
    expect(
      resolveStoreDir({
        env: { APPDATA: 'C:\\Users\\ada\\AppData\\Roaming' },
        platform: 'win32',
        homedir: 'C:\\Users\\ada'
      })
    ).toEqual({ dir: 'C:\\Users\\ada\\AppData\\Roaming\\Finetune Studio', source: 'default' })
    expect(resolveStoreDir({ env: {}, platform: 'win32', homedir: 'C:\\Users\\ada' }).dir).toBe(
      'C:\\Users\\ada\\AppData\\Roaming\\Finetune Studio'
    )
  })

  it('resolves a win32 flag with win32 path rules', () => {
    expect(resolveStoreDir({ flag: 'D:\\data\\studio', env, platform: 'win32', cwd: 'C:\\work' })).toEqual({
      dir: 'D:\\data\\studio',
      source: 'flag'
    })
    expect(resolveStoreDir({ flag: 'studio', env, platform: 'win32', cwd: 'C:\\work' }).dir).toBe(
      'C:\\work\\studio'
    )
  })

  it('names the database file studio.db', () => {
    expect(DATABASE_FILE).toBe('studio.db')
  })
})
