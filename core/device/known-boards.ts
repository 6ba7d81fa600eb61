/** USB vendor (and product) IDs of boards and bridges people plug in to run models. */
export interface KnownBoard {
  vendorId: string;
  /** Omitted when every product of the vendor is meant. */
  productId?: string;
  name: string;
}

export const knownBoards: KnownBoard[] = [
  { vendorId: '2341', name: 'Arduino' },
  { vendorId: '2a03', name: 'Arduino (arduino.org)' },
  { vendorId: '2341', productId: '005e', name: 'Arduino Nano 33 BLE' },
  { vendorId: '2341', productId: '025f', name: 'Arduino Nicla Vision' },
  { vendorId: '2341', productId: '035b', name: 'Arduino Portenta H7' },
  { vendorId: '2e8a', name: 'Raspberry Pi Pico' },
  { vendorId: '2e8a', productId: '000c', name: 'Raspberry Pi Debug Probe' },
  { vendorId: '0483', productId: '374b', name: 'ST-LINK/V2-1 (STM32 Nucleo/Discovery)' },
  { vendorId: '0483', productId: '374e', name: 'STLINK-V3 (STM32 Nucleo/Discovery)' },
  { vendorId: '0483', productId: '3752', name: 'ST-LINK/V2-1 (STM32 Nucleo/Discovery)' },
  { vendorId: '0483', productId: '3754', name: 'STLINK-V3 (STM32 Nucleo/Discovery)' },
  { vendorId: '0483', productId: '5740', name: 'STM32 USB CDC' },
  { vendorId: '303a', name: 'Espressif ESP32 (native USB)' },
  { vendorId: '10c4', productId: 'ea60', name: 'CP210x USB-UART bridge (ESP32 DevKit and others)' },
  { vendorId: '1a86', productId: '7523', name: 'CH340 USB-UART bridge' },
  { vendorId: '1a86', productId: '55d4', name: 'CH9102 USB-UART bridge' },
  { vendorId: '0403', productId: '6001', name: 'FTDI FT232 USB-UART bridge' },
  { vendorId: '0403', productId: '6010', name: 'FTDI FT2232 (dual UART / JTAG)' },
  { vendorId: '1915', name: 'Nordic Semiconductor nRF' },
  { vendorId: '1366', name: 'SEGGER J-Link (nRF DK and others)' },
  { vendorId: '0d28', productId: '0204', name: 'Arm DAPLink / mbed' },
  { vendorId: '239a', name: 'Adafruit' },
  { vendorId: '2886', name: 'Seeed Studio' },
  { vendorId: '1fc9', name: 'NXP' },
];

/** The most specific match: a product entry wins over a vendor-wide one. */
export function recogniseBoard(vendorId?: string, productId?: string): string | undefined {
  if (!vendorId) return undefined;
  const vid = vendorId.toLowerCase().padStart(4, '0');
  const pid = productId?.toLowerCase().padStart(4, '0');
  return (
    knownBoards.find((b) => b.vendorId === vid && b.productId !== undefined && b.productId === pid)?.name ??
    knownBoards.find((b) => b.vendorId === vid && b.productId === undefined)?.name
  );
}
