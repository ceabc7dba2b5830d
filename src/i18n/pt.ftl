# As palavras do messenger, em português.

## The page and the bubble
chat-with = Converse com { $team }
page-description = Pergunte o que quiser a { $team }: uma pessoa ou o nosso assistente responde aqui.
open-chat = Abrir o chat
open-chat-unread = Abrir o chat ({ $count ->
    [one] { $count } não lida
   *[other] { $count } não lidas
})
close-chat = Fechar o chat

## The header
team-online = A equipe está online
away-now = Ausentes no momento
reply-time-minutes = Costuma responder em poucos minutos
reply-time-hour = Costuma responder em menos de uma hora
reply-time-hours = Costuma responder em poucas horas
reply-time-day = Costuma responder em até um dia
download-conversation = Baixar esta conversa
back-to-conversation = Voltar à conversa
your-conversations = Suas conversas
new-conversation = Nova conversa
status-resolved = Resolvida
unread-count = { $count ->
    [one] { $count } não lida
   *[other] { $count } não lidas
}

## The texts admins may change, while they are the defaults
greeting-default = Olá
intro-default = Pergunte o que quiser sobre grãos, preparo ou o seu pedido — estamos aqui para ajudar.
away-default = Estamos ausentes no momento. Deixe uma mensagem e responderemos aqui quando voltarmos.
away-plain = Estamos ausentes no momento. Deixe uma mensagem e responderemos quando voltarmos.

## The assistant
assistant-answering = Você está conversando com o nosso assistente de IA.
talk-to-person = Falar com uma pessoa
assistant-name = Assistente
ai-badge = IA
assistant-writing = escrevendo…
sources = Fontes
did-that-help = Isso ajudou?
helped-yes = Sim, obrigado
helped-no = Não, falar com uma pessoa
helped-said-yes = Que bom que ajudou!
helped-said-no = Obrigado por avisar: alguém da equipe vai continuar daqui.
assistant-fallback = Alguém da equipe vai responder aqui em breve.
assistant-handed-over = Pedi para a equipe entrar na conversa. Alguém vai responder aqui em breve.
assistant-do-not-know = Não encontrei nada sobre isso nos nossos artigos de ajuda, então prefiro não adivinhar. Alguém da equipe pode responder: escolha "Falar com uma pessoa" abaixo.

## A resolved conversation and its rating
resolved-reopen = Esta conversa foi resolvida. Escreva abaixo para reabri-la ou
start-new = comece uma nova conversa
how-did-we-do = Como nos saímos?
rating-1 = Péssimo
rating-2 = Ruim
rating-3 = Razoável
rating-4 = Bom
rating-5 = Ótimo
rated = Sua avaliação: { $rating }. Obrigado!
rating-comment = Algo a acrescentar? (opcional)

## The visitor's name and email
chatting-as = Conversando como { $who } · alterar
add-profile = Deixe seu nome e e-mail para que possamos responder
name = Nome
email = E-mail

## Buttons
send = Enviar
save = Salvar
cancel = Cancelar
delete = Excluir
retry = Tentar de novo
dismiss = Fechar aviso

## The composer
message = Mensagem
write-message = Escreva uma mensagem…
attach-files = Anexar arquivos
attach-files-hint = Anexar arquivos (ou cole ou solte aqui)
insert-emoji = Inserir emoji
emoji = Emoji
insert-this = Inserir { $emoji }
characters-left = { $count ->
    [one] Resta { $count } caractere
   *[other] Restam { $count } caracteres
}

## The connection
offline = Você está offline. O que escrever será enviado quando voltar a ficar online.
reconnecting-banner = Reconectando… O que escrever será enviado assim que a conexão voltar.
not-connected = Não conectado
connecting = Conectando…
online = Online
reconnecting = Reconectando…

## Messages
messages = Mensagens
beginning = Início da conversa
load-earlier = Carregar mensagens anteriores
show-newer = Mostrar mensagens mais recentes
new-messages = Novas mensagens ↓
typing-one = { $name } está escrevendo…
typing-many = { $names } e { $last } estão escrevendo…
seen = Vista
delivered = Entregue
sent = Enviada
message-deleted = Esta mensagem foi excluída
edited = (editada)
message-actions = Ações da mensagem
react = Reagir
react-with = Reagir com { $emoji }
pick-reaction = Escolha uma reação
edit = Editar
edit-message = Editar a mensagem
confirm-delete = Excluir esta mensagem para todos?
sending = Enviando…
not-sent = Não enviada — { $reason }

## Files
open-picture = Abrir a imagem { $name } em tamanho real
picture-of = { $at } de { $count }
uploading = Enviando { $name }
remove-file = Remover { $name }
close-picture = Fechar a imagem
previous-picture = Imagem anterior
next-picture = Próxima imagem

## Searching the help center
search-help = Buscar ajuda
articles-found = { $count ->
    [one] { $count } artigo encontrado
   *[other] { $count } artigos encontrados
}
back-to-results = Voltar aos resultados
open-in-help-center = Abrir na central de ajuda
article-unpublished = Este artigo não está mais publicado.

## Times
just-now = agora mesmo
minutes-ago = há { $minutes } min
hours-ago = há { $hours } h
yesterday-at = Ontem { $clock }
date-this-year = { $day } de { $month }, { $clock }
date-other-year = { $day } de { $month } de { $year }, { $clock }
month-1 = jan.
month-2 = fev.
month-3 = mar.
month-4 = abr.
month-5 = mai.
month-6 = jun.
month-7 = jul.
month-8 = ago.
month-9 = set.
month-10 = out.
month-11 = nov.
month-12 = dez.

## What the server refused, in the visitor's words
refused-empty = Escreva algo primeiro: a mensagem está vazia.
refused-too-long = Essa mensagem é longa demais: divida-a em mensagens mais curtas.
refused-too-fast = Você está enviando mensagens muito rápido. Espere um momento e tente de novo.
refused-too-many-conversations = Você começou muitas conversas recentemente. Escreva em uma que já tem ou tente de novo daqui a uma hora.
refused-storage-full = O servidor não consegue guardar mensagens agora. Tente de novo em alguns minutos.
refused-server = Algo deu errado do nosso lado. Tente de novo.
refused-edit-window = Esta mensagem não pode mais ser alterada.
refused-profile = Confira seu nome e e-mail: um deles não é válido.
refused-files = Um dos arquivos não pôde ser enviado com esta mensagem. Anexe-o de novo.
refused-not-yours = Você só pode alterar as suas próprias mensagens.
refused-forbidden = Esta conversa não está mais disponível.
refused-blocked = Você não pode mais enviar mensagens neste chat.

## More of the messenger
opens-new-tab = (abre em uma nova aba)
download-hint = (baixar)
attached-files = Arquivos anexados
file-waiting = Aguardando a rede…
file-ready = Pronto
file-not-accepted = Um arquivo não foi aceito: remova-o ou tente de novo primeiro.
help-no-match = Nenhum artigo corresponde. Pergunte abaixo: teremos prazer em ajudar.
help-articles = Artigos de ajuda
loading = Carregando…
chat = Chat
file-lost = O arquivo se perdeu ao recarregar a página. Anexe-o de novo.
file-not-started = Seu navegador não conseguiu começar o envio.
refused-unverified = Este chat é para clientes que entraram na conta. Entre no site e abra o chat de novo.
refused-not-possible = Isso não pode ser feito aqui.
file-too-big = Esse arquivo é grande demais para enviar.
file-type-not-allowed = Arquivos desse tipo não podem ser enviados aqui.
file-empty = Esse arquivo está vazio.
file-picture-too-large = Essa imagem é grande demais para enviar.
file-picture-unreadable = Não foi possível ler essa imagem.
file-conversation-full = Esta conversa não aceita mais arquivos.
open-chat-unread-one = Abrir o chat (1 não lida)
kind-pdf = PDF
kind-zip = ZIP
kind-text = Texto
kind-image = Imagem
kind-document = Documento
kind-spreadsheet = Planilha
kind-slides = Apresentação
kind-file = Arquivo
help-unavailable = A central de ajuda não está disponível agora. Pergunte abaixo.
